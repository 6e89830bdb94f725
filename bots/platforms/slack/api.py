"""The one door to Slack's Web API and response URLs, through `integrations.http.session("slack")`.

The door decides what is retried (a `ratelimited` 429 is waited out as its Retry-After asks). Here is only
what is Slack's own: a refusal usually comes as HTTP 200 with `{"ok": false, "error": "<code>"}`, raised
as a `SlackError` carrying that code. Write methods take a JSON body; `users.info` and `oauth.v2.access`
take only a form, `auth.test` nothing.
https://api.slack.com/web#posting_json
"""

from __future__ import annotations

import re
from collections.abc import Callable

import requests
from django.conf import settings

from integrations.http import TIMEOUT, OutsideError, session

# Slack's codes for a failure on its side; every other code is a refusal that asking again will not mend.
# https://api.slack.com/methods/chat.postMessage#errors
TRANSIENT = {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
# A response URL answers 200 "ok", or says why not in plain text: "expired_url", "used_url".
PLAIN_CODE = re.compile(r"[a-z_]{1,100}")


class SlackError(OutsideError):
    """Slack refused or failed a call; `code` is Slack's own error ("message_not_found"), blank without one."""

    def __init__(self, message: str, *, code: str = "", **kwargs) -> None:
        super().__init__(message, system="slack", **kwargs)
        self.code = code


def call(method: str, *, timeout: float = TIMEOUT, **kwargs) -> dict:
    """POST to a Web API method; Slack's answer once it says `ok`, else SlackError."""
    url = settings.SLACK_API_URL.rstrip("/") + "/" + method
    return _body(_send(url, method, timeout, _said_ok, **kwargs))


def respond(response_url: str, message: dict) -> None:
    """Answer a command through its response URL, which is a credential: errors name it only as such."""
    _send(response_url, "a response_url answer", TIMEOUT, lambda answer: answer.status_code == 200, json=message)


class SlackAPI:
    """The Web API methods the bot calls, with its token for one workspace (`install.bot_token`)."""

    def __init__(self, token: str, timeout: float = TIMEOUT) -> None:
        self.headers = {"Authorization": f"Bearer {token}"}
        self.timeout = timeout

    def post_message(self, channel: str, message: dict) -> str:
        """The new message's `ts`, which later edits name."""
        return self._write("chat.postMessage", {"channel": channel, **message})["ts"]

    def update(self, channel: str, ts: str, message: dict) -> None:
        self._write("chat.update", {"channel": channel, "ts": ts, **message})

    def post_ephemeral(self, channel: str, user: str, message: dict) -> None:
        self._write("chat.postEphemeral", {"channel": channel, "user": user, **message})

    def open_view(self, trigger_id: str, view: dict) -> None:
        self._write("views.open", {"trigger_id": trigger_id, "view": view})

    def user(self, user_id: str) -> dict:
        return call("users.info", timeout=self.timeout, headers=self.headers, data={"user": user_id})["user"]

    def team(self) -> str:
        """The id of the workspace the token belongs to, as Slack says."""
        return str(call("auth.test", timeout=self.timeout, headers=self.headers).get("team_id") or "")

    def _write(self, method: str, arguments: dict) -> dict:
        return call(method, timeout=self.timeout, headers=self.headers, json=arguments)


def _send(url: str, what: str, timeout: float, ok: Callable[[requests.Response], bool], **kwargs) -> requests.Response:
    return session("slack", timeout).call(
        "POST",
        url,
        what=what,
        ok=ok,
        verdict=lambda answer: _verdict(answer, what),
        unanswered=lambda exc: SlackError(f"Slack did not answer {what} ({exc.__class__.__name__})"),
        **kwargs,
    )


def _said_ok(response: requests.Response) -> bool:
    return response.status_code < 400 and _body(response).get("ok") is True


def _body(response: requests.Response) -> dict:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _verdict(response: requests.Response, what: str) -> SlackError:
    code = str(_body(response).get("error") or "")
    if not code and PLAIN_CODE.fullmatch(response.text.strip()):
        code = response.text.strip()
    message = f"Slack refused {what}: {code or f'HTTP {response.status_code}'}"
    error = SlackError.from_response(response, message)
    error.code = code
    if code in TRANSIENT:
        error.permanent = False
    return error
