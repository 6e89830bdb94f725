"""Slack's HTTP endpoints: verify the signature on the raw body, turn the payload into an Invocation, answer.

Each answers within Slack's 3 seconds without calling Slack or any other outside system: what has to
reach Slack later (a button's outcome, a mention's answer, the modal) goes through a task after commit.
"""

from __future__ import annotations

import json
import logging
import re
from functools import wraps
from typing import cast

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST
from slack_sdk.signature import SignatureVerifier

from bots import command_engine
from bots.models import CommandRun, Outcome, SlackEvent
from bots.platforms.slack import blocks, modal, tasks
from bots.platforms.slack.api import SlackError
from bots.platforms.slack.identity import link_by_email
from bots.platforms.slack.install import InstallError, authorize_url, complete, consume_state
from bots.types import Invocation, Reply
from chatops_site import metrics, outage

log = logging.getLogger("chatops.slack")

PLATFORM = "slack"
MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")


def _signed(request: HttpRequest) -> bool:
    try:
        return SignatureVerifier(settings.SLACK_SIGNING_SECRET).is_valid_request(request.body, request.headers)
    except (ValueError, TypeError):  # a timestamp that is no number, a signature or body that is not text
        return False


def slack_request(view):
    """Only requests signed with SLACK_SIGNING_SECRET, at most 5 minutes old or early, get through."""

    @csrf_exempt
    @require_POST
    @wraps(view)
    def verified(request: HttpRequest) -> HttpResponse:
        if not settings.SLACK_SIGNING_SECRET:
            return HttpResponse("Slack is not configured here: set SLACK_SIGNING_SECRET.", status=404)
        if request.content_type == "application/x-www-form-urlencoded" and request.POST.get("ssl_check") == "1":
            return _ack()  # Slack checking our certificate: it carries no command and no signature
        if not _signed(request):
            log.warning(
                "refused %s: bad, stale or missing Slack signature (timestamp %r)",
                request.path,
                request.headers.get("X-Slack-Request-Timestamp", "")[:20],
            )
            metrics.webhook_delivery("slack", "bad_signature")
            return HttpResponse("invalid Slack signature", status=401)
        response = view(request)
        metrics.webhook_delivery("slack", "accepted" if response.status_code < 400 else "invalid")
        return response

    return verified


def _ack() -> HttpResponse:
    return HttpResponse(status=200)


def _handled(request_id: str) -> bool:
    """A payload Slack (or a double click's twin) already delivered once."""
    return CommandRun.objects.filter(platform=PLATFORM, request_id=request_id).exists()


# Slash commands


def _command_outage(request: HttpRequest) -> HttpResponse:
    """Met outside the engine (opening the modal reads the catalog): the engine's words for the command."""
    name, _ = command_engine.split_umbrella(request.POST.get("command", ""), "")
    return JsonResponse(blocks.acknowledgement(Reply(outage.UNREACHABLE.format(what=f"/{name[:32]}"))))


@outage.answer_with(_command_outage)
@slack_request
def commands(request: HttpRequest) -> HttpResponse:
    form = request.POST
    invocation = Invocation(
        platform=PLATFORM,
        workspace=form.get("team_id", ""),
        channel=form.get("channel_id", ""),
        chat_user_id=form.get("user_id", ""),
        chat_user_name=form.get("user_name", ""),
        command=form.get("command", ""),
        text=form.get("text", ""),
        reply_handle=form.get("response_url", ""),
        request_id=form.get("trigger_id", ""),
    )
    if not (invocation.chat_user_id and invocation.command):
        return HttpResponse("not a slash command: user_id and command are required", status=400)
    name, text = command_engine.split_umbrella(invocation.command, invocation.text)
    if name == "deploy" and not text and form.get("trigger_id"):
        tasks.later("open_view", invocation.workspace, form["trigger_id"], modal.view(invocation.channel))
        return _ack()
    link_by_email(invocation.workspace, invocation.chat_user_id)
    reply = command_engine.handle(invocation)
    if not reply.text:
        return _ack()
    return JsonResponse(blocks.acknowledgement(reply))


# Buttons and the deploy modal


def _interaction_outage(request: HttpRequest) -> HttpResponse:
    """The modal shows the words under its first field and stays open to submit again. A click's answer
    carries no message (Slack reads none there): a bare acknowledgement leaves the clicked message and
    its buttons as they were, to click again."""
    payload = json.loads(request.POST["payload"])  # the view read it before the database
    if payload.get("type") == "view_submission":
        text = outage.UNREACHABLE.format(what="/deploy")
        return JsonResponse({"response_action": "errors", "errors": {modal.FIELDS[0]: text}})
    return _ack()


@outage.answer_with(_interaction_outage)
@slack_request
def interactions(request: HttpRequest) -> HttpResponse:
    try:
        payload = json.loads(request.POST["payload"])
        kind = payload["type"]
    except (KeyError, TypeError, ValueError):
        return HttpResponse("expected a form field `payload` with Slack's JSON", status=400)
    if kind == "block_actions":
        return _button(payload)
    if kind == "view_submission" and (payload.get("view") or {}).get("callback_id") == modal.CALLBACK_ID:
        return _submit(payload)
    log.info("ignored a Slack %s interaction", str(kind)[:40])
    return _ack()


def _invocation(payload: dict, **fields) -> Invocation:
    """A command run by whoever acted in this interaction payload (a click, a form)."""
    user = payload.get("user") or {}
    return Invocation(
        platform=PLATFORM,
        workspace=(payload.get("team") or {}).get("id") or user.get("team_id") or "",
        chat_user_id=user.get("id", ""),
        chat_user_name=user.get("username") or user.get("name") or "",
        **fields,
    )


def _button(payload: dict) -> HttpResponse:
    """A click runs the button's command as the person who clicked: `/approve 12` with their grants."""
    action = (payload.get("actions") or [{}])[0]
    command = str(action.get("action_id", "")).partition(":")[0]
    request_id = str(payload.get("trigger_id") or "")
    if not command or not request_id or _handled(request_id):
        return _ack()
    channel = (payload.get("channel") or {}).get("id") or (payload.get("container") or {}).get("channel_id") or ""
    reply = command_engine.handle(
        _invocation(
            payload,
            channel=channel,
            command=command,
            text=str(action.get("value", "")),
            reply_handle=payload.get("response_url", ""),
            request_id=request_id,
        )
    )
    # A decision replaces the clicked message; a refusal is a new message only the clicker sees.
    if reply.text:
        tasks.later("deliver", reply.run_id, reply)
    return _ack()


def _submit(payload: dict) -> HttpResponse:
    """The modal's Deploy button: errors go back under the fields, a request starts like `/deploy`."""
    values, channel = modal.submitted(payload["view"])
    errors = modal.errors(values)
    if errors:
        return JsonResponse({"response_action": "errors", "errors": errors})
    request_id = str(payload.get("trigger_id") or "")
    if request_id and _handled(request_id):
        return _ack()
    # No response_url: the request is posted with the bot token, as the one message that follows it. The
    # fields reach the engine by name, so the version is checked by the deploy rules as it was typed.
    typed = {name: value for name, value in values.items() if value}
    invocation = _invocation(
        payload,
        channel=channel,
        command="deploy",
        text=modal.command_text(values),
        options=typed,
        request_id=request_id,
    )
    reply = command_engine.handle(invocation)
    run = CommandRun.objects.filter(pk=reply.run_id).only("outcome").first() if reply.run_id else None
    if run is not None and run.outcome != Outcome.OK:
        # What was typed is refused (the version) or the person is (under the environment they chose).
        field = "version" if run.outcome == Outcome.INVALID else "env"
        return JsonResponse({"response_action": "errors", "errors": {field: reply.text[:300]}})
    if reply.text:
        tasks.later("deliver", reply.run_id, reply)
    return _ack()


# Events API


def _retry_later(request: HttpRequest) -> HttpResponse:
    """Slack delivers an event again when the answer is not a 2xx: it runs once the database is back."""
    return HttpResponse("the database is not answering; deliver this event again later", status=503)


@outage.answer_with(_retry_later)
@slack_request
def events(request: HttpRequest) -> HttpResponse:
    try:
        payload = json.loads(request.body)
        kind = payload["type"]
    except (KeyError, TypeError, ValueError):
        return HttpResponse("expected Slack's JSON event envelope", status=400)
    if kind == "url_verification":
        return JsonResponse({"challenge": str(payload.get("challenge", ""))})
    event = payload.get("event") or {}
    if kind != "event_callback" or event.get("type") != "app_mention" or event.get("bot_id"):
        log.info("ignored a Slack %s event", str(event.get("type") or kind)[:40])
        return _ack()
    event_id = str(payload.get("event_id") or "")[:64]
    if not event_id:
        return HttpResponse("event_id is missing", status=400)
    try:
        with transaction.atomic():
            SlackEvent.objects.create(event_id=event_id, team_id=payload.get("team_id", ""), type="app_mention")
    except IntegrityError:
        log.info("event %s already taken (retry %s)", event_id, request.headers.get("X-Slack-Retry-Num", "-"))
        return _ack()
    _mention(payload.get("team_id", ""), event, event_id)
    return _ack()


def _mention(team: str, event: dict, event_id: str) -> None:
    """`@bot deploy web-app staging` is `/deploy web-app staging`; the answer is posted to the channel."""
    line = MENTION.sub(" ", str(event.get("text", ""))).strip() or "help"
    invocation = Invocation.from_line(
        line,
        platform=PLATFORM,
        workspace=team,
        channel=event.get("channel", ""),
        chat_user_id=event.get("user", ""),
        request_id=event_id,
    )
    link_by_email(team, invocation.chat_user_id)
    reply = command_engine.handle(invocation)
    if reply.text:
        tasks.later("deliver", reply.run_id, reply)


# OAuth v2 install


def _callback_url(request: HttpRequest) -> str:
    return request.build_absolute_uri(reverse("slack-oauth-callback"))


def _install_configured() -> bool:
    return bool(settings.SLACK_CLIENT_ID and settings.SLACK_CLIENT_SECRET)


@require_GET
@staff_member_required
def install(request: HttpRequest) -> HttpResponse:
    """Send an admin to Slack to install the app in a workspace."""
    if not _install_configured():
        return HttpResponse("Slack install is not configured: set SLACK_CLIENT_ID and SLACK_CLIENT_SECRET.", status=404)
    staff = cast(int, request.user.pk)  # staff_member_required: someone is logged in
    return redirect(authorize_url(_callback_url(request), request.session, staff))


@require_GET
def oauth_callback(request: HttpRequest) -> HttpResponse:
    if not _install_configured():
        return HttpResponse("Slack install is not configured: set SLACK_CLIENT_ID and SLACK_CLIENT_SECRET.", status=404)
    if request.GET.get("error"):
        return _install_failed(f"Slack did not install the app: {request.GET['error'][:100]}.")
    try:
        consume_state(request.GET.get("state", ""), request.session, request.user.pk)
        installation = complete(request.GET.get("code", ""), _callback_url(request))
    except InstallError as exc:
        return _install_failed(f"{exc}.")
    except SlackError as exc:
        if exc.code:
            return _install_failed(f"Slack refused the install: {exc.code}.")
        log.warning("oauth.v2.access failed: %s", exc)
        return _install_failed("Slack could not be reached to finish the install; try again.", status=502)
    log.info("installed in Slack workspace %s", installation)
    return HttpResponse(
        f"Installed in {installation.team_name or installation.team_id}. "
        "Link its members to ChatOps users under Catalog -> Chat identities, then try /help in Slack.",
        content_type="text/plain; charset=utf-8",
    )


def _install_failed(message: str, status: int = 400) -> HttpResponse:
    log.warning("Slack install failed: %s", message)
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")
