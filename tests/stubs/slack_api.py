"""A local Slack: the Web API methods the product calls, and `response_url`s, as Slack serves them.

It checks the bot token like Slack does (`invalid_auth` otherwise), says which workspace a token belongs
to (`auth.test`), keeps the messages it was asked to post and update per channel and `ts`, and honours a
response_url 5 times, as Slack does. `users.info` answers the users a test puts in `users`, with the
fields it gives them: `is_email_confirmed` is only there when the test says so.
"""

from __future__ import annotations

import base64
import itertools
import json
from urllib.parse import parse_qs

from tests.stubs import Answer, Call, StubServer

BOT_TOKEN = "xoxb-test-token"
TEAM = "T0001"  # the workspace BOT_TOKEN was made in
CLIENT_ID = "111.222"
CLIENT_SECRET = "client-secret"


def arguments(call: Call) -> dict:
    """A Web API call's arguments, sent as JSON, a form or a query."""
    found = {k: v[-1] for k, v in call.query.items()}
    if call.header("content-type").startswith("application/json"):
        found.update(call.json() or {})
    elif call.body:
        found.update({k: v[-1] for k, v in parse_qs(call.body.decode()).items()})
    return found


class SlackApi(StubServer):
    def __init__(self) -> None:
        super().__init__()
        self.reset()

    def reset(self) -> None:
        """Forget every call, message and override, so one server can serve many tests."""
        self.calls.clear()
        self.delay = 0.0
        self.tokens = {BOT_TOKEN}
        self.teams = {BOT_TOKEN: TEAM}  # token -> the workspace it belongs to
        self.messages: dict[tuple[str, str], dict] = {}  # (channel, ts) -> the latest payload
        self.responses: dict[str, list[dict]] = {}  # response_url name -> what was sent to it
        self.users: dict[str, dict] = {}  # user id -> users.info's `user`
        self.expired: set[str] = set()
        self.installs: dict[str, dict] = {}  # OAuth code -> oauth.v2.access answer
        self._ts = itertools.count(1)
        self.routes = []
        for method, handler in {
            "chat.postMessage": self._post,
            "chat.update": self._update,
            "chat.postEphemeral": self._ephemeral,
            "views.open": self._view,
            "users.info": self._user,
        }.items():
            self.route("POST", rf"/api/{method.replace('.', '[.]')}", self._authorized(handler))
            self.route("GET", rf"/api/{method.replace('.', '[.]')}", self._authorized(handler))
        self.route("POST", r"/api/auth[.]test", self._auth_test)
        self.route("POST", r"/api/oauth[.]v2[.]access", self._oauth)
        self.route("POST", r"/response/(?P<name>[\w-]+)", self._response)

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    def response_url(self, name: str) -> str:
        return f"{self.url}/response/{name}"

    def api_calls(self, method: str) -> list[dict]:
        """Arguments of every call to a Web API method, oldest first."""
        return [arguments(c) for c in self.calls_to(rf"/api/{method.replace('.', '[.]')}")]

    def channel_messages(self, channel: str) -> list[dict]:
        return [m for (c, _), m in self.messages.items() if c == channel]

    # Web API

    def _authorized(self, handler):
        def check(call: Call):
            if _token(call) not in self.tokens:
                return {"ok": False, "error": "invalid_auth"}
            return handler(arguments(call))

        return check

    def _auth_test(self, call: Call) -> dict:
        token = _token(call)
        if token not in self.tokens:
            return {"ok": False, "error": "invalid_auth"}
        return {"ok": True, "team_id": self.teams.get(token, ""), "user_id": "U0BOT", "bot_id": "B0BOT"}

    def _post(self, args: dict) -> dict:
        ts = f"1700000000.{next(self._ts):06d}"
        self.messages[(args["channel"], ts)] = args
        return {"ok": True, "channel": args["channel"], "ts": ts, "message": {"text": args.get("text", "")}}

    def _update(self, args: dict) -> dict:
        key = (args["channel"], args["ts"])
        if key not in self.messages:
            return {"ok": False, "error": "message_not_found"}
        self.messages[key] = args
        return {"ok": True, "channel": args["channel"], "ts": args["ts"]}

    def _ephemeral(self, args: dict) -> dict:
        return {"ok": True, "message_ts": f"1700000000.{next(self._ts):06d}"}

    def _view(self, args: dict) -> dict:
        if not args.get("trigger_id"):
            return {"ok": False, "error": "invalid_trigger_id"}
        view = args["view"] if isinstance(args["view"], dict) else json.loads(args["view"])
        return {"ok": True, "view": {"id": "V123", **view}}

    def _user(self, args: dict) -> dict:
        user = self.users.get(args.get("user", ""))
        return {"ok": True, "user": user} if user else {"ok": False, "error": "user_not_found"}

    def _oauth(self, call: Call):
        basic = base64.b64decode(call.header("authorization").removeprefix("Basic ") or b"").decode()
        if basic != f"{CLIENT_ID}:{CLIENT_SECRET}":
            return {"ok": False, "error": "invalid_client_id"}
        answer = self.installs.get(arguments(call).get("code", ""))
        return answer or {"ok": False, "error": "invalid_code"}

    # response_url: Slack answers plain text

    def _response(self, call: Call) -> Answer:
        name = call.match["name"]
        sent = self.responses.setdefault(name, [])
        if name in self.expired:
            return Answer(404, "expired_url")
        if len(sent) >= 5:
            return Answer(404, "used_url")
        sent.append(call.json())
        return Answer(200, "ok")


def _token(call: Call) -> str:
    return call.header("authorization").removeprefix("Bearer ")
