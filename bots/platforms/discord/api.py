"""The one door to Discord's REST API: interaction webhooks, channel messages, channel webhooks, commands.

Everything goes through `integrations.http.session("discord").call`, which decides what is retried (a
429 is waited out as its `retry_after` asks). Here is only what is Discord's own: the JSON `code` and
`message` of a refusal. Interaction tokens and webhook URLs are credentials, so errors name the endpoint,
never the URL.
https://discord.com/developers/docs/interactions/receiving-and-responding#followup-messages
"""

from __future__ import annotations

import requests
from django.conf import settings

from integrations.http import OutsideError, session


class DiscordError(OutsideError):
    """Discord refused or failed a call; `status` and Discord's JSON `code` say why (10015: unknown webhook...)."""

    def __init__(self, message: str, *, code: int | None = None, **kwargs) -> None:
        super().__init__(message, system="discord", **kwargs)
        self.code = code

    @property
    def gone(self) -> bool:
        """The message, webhook or interaction token no longer exists (or expired)."""
        return self.status in (401, 404)


class DiscordAPI:
    def __init__(self) -> None:
        self.http = session("discord")
        self.base = settings.DISCORD_API_URL.rstrip("/")

    # Interaction webhooks: the interaction token is the credential, valid for 15 minutes.

    def edit_original(self, token: str, message: dict) -> None:
        url = self._interaction(token, "/messages/@original")
        self._call("PATCH", url, "an edit of the original response", message)

    def follow_up(self, token: str, message: dict) -> str:
        return self._call("POST", self._interaction(token), "a follow-up message", message)["id"]

    def edit_follow_up(self, token: str, message_id: str, message: dict) -> None:
        self._call("PATCH", self._interaction(token, f"/messages/{message_id}"), "an edit of a follow-up", message)

    # Channels, with the bot token.

    def create_message(self, channel_id: str, message: dict) -> str:
        url = f"{self.base}/channels/{channel_id}/messages"
        return self._call("POST", url, "a channel message", message, bot=True)["id"]

    def edit_message(self, channel_id: str, message_id: str, message: dict) -> None:
        url = f"{self.base}/channels/{channel_id}/messages/{message_id}"
        self._call("PATCH", url, "an edit of a channel message", message, bot=True)

    def open_dm(self, user_id: str) -> str:
        """The id of the direct-message channel with a user (Discord creates it on first use)."""
        url = f"{self.base}/users/@me/channels"
        return self._call("POST", url, "opening a direct message", {"recipient_id": user_id}, bot=True)["id"]

    # Channel webhooks (a URL an admin copied from the channel settings): no bot token needed.

    def execute_webhook(self, url: str, message: dict) -> str:
        # wait=true makes Discord answer with the message, whose id later edits need.
        return self._call("POST", url, "a channel webhook message", message, params={"wait": "true"})["id"]

    def edit_webhook_message(self, url: str, message_id: str, message: dict) -> None:
        self._call("PATCH", f"{url.rstrip('/')}/messages/{message_id}", "an edit of a channel webhook message", message)

    # Application commands.

    def overwrite_commands(self, definitions: list[dict], guild: str = "") -> list[dict]:
        """Bulk overwrite: the given definitions replace every command, globally or in one guild."""
        app = settings.DISCORD_APPLICATION_ID
        url = f"{self.base}/applications/{app}" + (f"/guilds/{guild}" if guild else "") + "/commands"
        return self._call("PUT", url, "the command registration", definitions, bot=True)

    def _interaction(self, token: str, rest: str = "") -> str:
        return f"{self.base}/webhooks/{settings.DISCORD_APPLICATION_ID}/{token}{rest}"

    def _call(self, method: str, url: str, what: str, payload, bot: bool = False, params: dict | None = None):
        # Only Discord's own API gets the bot token, never a webhook URL someone typed into the catalog.
        headers = {"Authorization": f"Bot {settings.DISCORD_BOT_TOKEN}"} if bot else {}
        response = self.http.call(
            method,
            url,
            what=what,
            verdict=lambda answer: _verdict(answer, what),
            unanswered=lambda exc: DiscordError(f"Discord did not answer {what} ({exc.__class__.__name__})"),
            json=payload,
            headers=headers,
            params=params,
        )
        return response.json() if response.content else None


def _verdict(response: requests.Response, what: str) -> DiscordError:
    try:
        body = response.json()
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    code, message = body.get("code"), str(body.get("message", ""))[:200]
    error = DiscordError.from_response(
        response, f"Discord refused {what}: HTTP {response.status_code}" + (f" ({code}: {message})" if code else "")
    )
    error.code = code
    return error
