"""A local Discord REST API: interaction webhooks, channel messages, channel webhooks, command registration.

It keeps every message it was given (by id, with each version), checks the bot token where Discord
wants one, refuses expired interaction tokens and unknown webhooks as Discord does, and records the
command definitions it was sent.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from tests.stubs import Answer, Call, StubServer

UNKNOWN_MESSAGE = Answer(404, {"message": "Unknown Message", "code": 10008})
UNKNOWN_WEBHOOK = Answer(404, {"message": "Unknown Webhook", "code": 10015})
INVALID_TOKEN = Answer(401, {"message": "Invalid Webhook Token", "code": 50027})
UNAUTHORIZED = Answer(401, {"message": "401: Unauthorized", "code": 0})


@dataclass
class Message:
    id: str
    where: str  # "interaction:<token>", "channel:<id>" or "webhook:<id>"
    versions: list[dict] = field(default_factory=list)
    ephemeral: bool = False

    @property
    def body(self) -> dict:
        return self.versions[-1]

    @property
    def content(self) -> str:
        return self.body.get("content", "")


class DiscordStub(StubServer):
    def __init__(self, application_id: str = "app-1", bot_token: str = "bot-token") -> None:  # noqa: S107
        super().__init__()
        self.application_id = application_id
        self.bot_token = bot_token
        self.messages: dict[str, Message] = {}
        self.expired: set[str] = set()  # interaction tokens past their 15 minutes
        self.webhooks: dict[str, str] = {}  # channel webhook id -> its token
        self.registrations: list[tuple[str, list[dict]]] = []  # (guild id or "", definitions)
        self._ids = itertools.count(900_000)
        self.route("PATCH", r"/webhooks/([^/]+)/([^/]+)/messages/([^/]+)", self._edit_by_webhook)
        self.route("POST", r"/webhooks/([^/]+)/([^/]+)", self._post_by_webhook)
        self.route("POST", r"/channels/([^/]+)/messages", self._create)
        self.route("PATCH", r"/channels/([^/]+)/messages/([^/]+)", self._edit)
        self.route("POST", r"/users/@me/channels", self._open_dm)
        self.route("PUT", r"/applications/([^/]+)(?:/guilds/([^/]+))?/commands", self._overwrite)

    # What tests read

    def webhook_url(self, webhook_id: str = "77", token: str = "hook-secret") -> str:  # noqa: S107
        """A channel webhook as an admin would copy it from the channel settings."""
        self.webhooks[webhook_id] = token
        return f"{self.url}/webhooks/{webhook_id}/{token}"

    def original(self, token: str) -> Message | None:
        return self.messages.get(f"@original:{token}")

    def follow_ups(self, token: str) -> list[Message]:
        return [m for m in self.messages.values() if m.where == f"interaction:{token}" and m.id[0] != "@"]

    def in_channel(self, channel: str) -> list[Message]:
        return [m for m in self.messages.values() if m.where == f"channel:{channel}"]

    def by_webhook(self, webhook_id: str = "77") -> list[Message]:
        return [m for m in self.messages.values() if m.where == f"webhook:{webhook_id}"]

    # Handlers

    def _edit_by_webhook(self, call: Call):
        owner, token, message_id = call.match.groups()
        if owner == self.application_id:
            if token in self.expired:
                return INVALID_TOKEN
            key = f"@original:{token}" if message_id == "@original" else message_id
            if key not in self.messages and message_id == "@original":
                self.messages[key] = Message(key, f"interaction:{token}")
        elif self.webhooks.get(owner) != token:
            return UNKNOWN_WEBHOOK
        else:
            key = message_id
        if key not in self.messages:
            return UNKNOWN_MESSAGE
        self.messages[key].versions.append(call.json())
        return {"id": key, **call.json()}

    def _post_by_webhook(self, call: Call):
        owner, token = call.match.groups()
        if owner == self.application_id:
            if token in self.expired:
                return INVALID_TOKEN
            message = self._new(f"interaction:{token}", call.json())
            message.ephemeral = bool(call.json().get("flags", 0) & 64)
            return {"id": message.id, **call.json()}
        if self.webhooks.get(owner) != token:
            return UNKNOWN_WEBHOOK
        message = self._new(f"webhook:{owner}", call.json())
        # Without ?wait=true Discord answers 204 and the caller never learns the message id.
        return {"id": message.id, **call.json()} if call.query.get("wait") == ["true"] else Answer(204)

    def _create(self, call: Call):
        if not self._bot(call):
            return UNAUTHORIZED
        message = self._new(f"channel:{call.match.group(1)}", call.json())
        return {"id": message.id, "channel_id": call.match.group(1), **call.json()}

    def _edit(self, call: Call):
        if not self._bot(call):
            return UNAUTHORIZED
        channel, message_id = call.match.groups()
        message = self.messages.get(message_id)
        if message is None or message.where != f"channel:{channel}":
            return UNKNOWN_MESSAGE
        message.versions.append(call.json())
        return {"id": message_id, "channel_id": channel, **call.json()}

    def _open_dm(self, call: Call):
        if not self._bot(call):
            return UNAUTHORIZED
        return {"id": f"dm-{call.json()['recipient_id']}", "type": 1}

    def _overwrite(self, call: Call):
        if not self._bot(call) or call.match.group(1) != self.application_id:
            return UNAUTHORIZED
        definitions = call.json()
        self.registrations.append((call.match.group(2) or "", definitions))
        return [{"id": str(next(self._ids)), "application_id": self.application_id, **d} for d in definitions]

    def _bot(self, call: Call) -> bool:
        return call.header("Authorization") == f"Bot {self.bot_token}"

    def _new(self, where: str, body: dict) -> Message:
        message = Message(str(next(self._ids)), where, [body])
        self.messages[message.id] = message
        return message
