"""Discord's interactions endpoint: thin, and done within Discord's 3 seconds.

It checks the Ed25519 signature on the raw body, turns slash commands and button clicks into
`Invocation`s for the engine, and answers at once. Slow work answers "thinking..." (a deferred response)
and finishes later through `DiscordPlatform.send` (`platform.py`).
https://discord.com/developers/docs/interactions/receiving-and-responding
"""

from __future__ import annotations

import functools
import json
import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

from bots import command_engine
from bots.models import CommandRun, Outcome
from bots.platforms.discord.autocomplete import choices
from bots.platforms.discord.commands import typed
from bots.platforms.discord.rendering import CONFIRM, Callback, answer, confirmation, pressed, private, render
from bots.types import Invocation
from chatops_site import metrics, outage

log = logging.getLogger("chatops.discord")

PLATFORM = "discord"
# Discord documents no freshness window; refusing old timestamps is our own guard against replays.
MAX_AGE = 300


class InvalidRequest(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _outage(request: HttpRequest) -> JsonResponse:
    """Met by a command, a click or suggestions: the engine's words, privately; no suggestions."""
    interaction = json.loads(request.body)  # verified before anything read the database
    if interaction.get("type") == 4:
        return JsonResponse({"type": Callback.AUTOCOMPLETE_RESULT, "data": {"choices": []}})
    name = str((interaction.get("data") or {}).get("name", ""))[:32]
    what = f"/{name}" if interaction.get("type") == 2 and name else "your click"
    return JsonResponse(private(outage.UNREACHABLE.format(what=what)))


@outage.answer_with(_outage)
@csrf_exempt
@require_POST
def interactions(request: HttpRequest) -> JsonResponse:
    try:
        interaction = verify(request)
        response = HANDLERS.get(interaction.get("type"), _unsupported)(interaction)
    except InvalidRequest as exc:
        log.warning("refused a Discord interaction from %s: %s", request.META.get("REMOTE_ADDR"), exc.reason)
        metrics.webhook_delivery("discord", "bad_signature" if exc.status == 401 else "invalid")
        return JsonResponse({"error": exc.reason}, status=exc.status)
    metrics.webhook_delivery("discord", "accepted")
    return JsonResponse(response)


def verify(request: HttpRequest) -> dict:
    """The interaction, once its signature over timestamp + raw body and its timestamp check out."""
    if not settings.DISCORD_PUBLIC_KEY:
        raise InvalidRequest(404, "Discord is not configured here (DISCORD_PUBLIC_KEY is not set)")
    signature = request.headers.get("X-Signature-Ed25519", "")
    timestamp = request.headers.get("X-Signature-Timestamp", "")
    if not signature or not timestamp:
        raise InvalidRequest(401, "the signature headers are missing")
    if not timestamp.isascii() or not timestamp.isdigit() or abs(time.time() - int(timestamp)) > MAX_AGE:
        raise InvalidRequest(401, "the timestamp is missing, unreadable or older than 5 minutes")
    try:
        _verify_key(settings.DISCORD_PUBLIC_KEY).verify(timestamp.encode() + request.body, bytes.fromhex(signature))
    except (BadSignatureError, ValueError):
        raise InvalidRequest(401, "the signature does not match") from None
    try:
        interaction = json.loads(request.body)
    except ValueError:
        raise InvalidRequest(400, "the body is not JSON") from None
    if not isinstance(interaction, dict):
        raise InvalidRequest(400, "the body is not an interaction object")
    return interaction


@functools.lru_cache(maxsize=4)
def _verify_key(public_key: str) -> VerifyKey:
    return VerifyKey(bytes.fromhex(public_key))


def _ping(interaction: dict) -> dict:
    return {"type": Callback.PONG}


def _command(interaction: dict) -> dict:
    data = interaction.get("data") or {}
    name = str(data.get("name", ""))
    text, options = typed(name, data.get("options") or [])
    return answer(command_engine.handle(_invocation(interaction, name, text, options)))


def _autocomplete(interaction: dict) -> dict:
    """Suggestions for the linked user who is typing (none for anyone else)."""
    options = (interaction.get("data") or {}).get("options") or []
    user = command_engine.identify(_invocation(interaction, "", ""))
    return {"type": Callback.AUTOCOMPLETE_RESULT, "data": {"choices": choices(options, user)}}


def _button(interaction: dict) -> dict:
    """A click runs the button's command as the person who clicked: `/approve 12` with all its checks."""
    name, text = pressed(str((interaction.get("data") or {}).get("custom_id", "")))
    if name == CONFIRM:
        return confirmation(interaction.get("message") or {}, text)
    reply = command_engine.handle(_invocation(interaction, name, text))
    run = CommandRun.objects.filter(pk=reply.run_id).only("outcome").first() if reply.run_id else None
    if run is None or run.outcome != Outcome.OK:
        return private(reply.text)
    # The message with the buttons now says what was decided, by whom and when (bots.deployment_messages).
    return {"type": Callback.UPDATE_MESSAGE, "data": render(reply)}


def _unsupported(interaction: dict) -> dict:
    log.info("ignored a Discord interaction of type %s", interaction.get("type"))
    return private("This bot does not handle that kind of interaction.")


# Keyed by whatever `type` the body carries, so an odd one finds no handler.
HANDLERS: dict[object, Callable[[dict], dict]] = {1: _ping, 2: _command, 3: _button, 4: _autocomplete}


def _invocation(interaction: dict, command: str, text: str, options: dict[str, str] | None = None) -> Invocation:
    """In a guild the caller is `member.user`; in a direct message, `user` (and there is no guild)."""
    user = (interaction.get("member") or {}).get("user") or interaction.get("user") or {}
    if not user.get("id"):
        raise InvalidRequest(400, "the interaction names no user")
    return Invocation(
        platform=PLATFORM,
        workspace=str(interaction.get("guild_id") or ""),
        channel=str(interaction.get("channel_id") or (interaction.get("channel") or {}).get("id") or ""),
        chat_user_id=str(user["id"]),
        chat_user_name=str(user.get("global_name") or user.get("username") or ""),
        command=command,
        text=text,
        options=options,
        reply_handle=str(interaction.get("token", "")),
        request_id=str(interaction.get("id", "")),
    )
