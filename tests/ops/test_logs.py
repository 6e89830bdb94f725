"""Structured logs: JSON lines with a request id that follows a command into its tasks, and no secrets."""

from __future__ import annotations

import io
import json
import logging

import pytest
from django.http import HttpResponse
from django.test import RequestFactory
from django.utils.log import log_response

from bots.command_engine import handle
from bots.types import Invocation
from chatops_site import logs
from chatops_site.demo import seed_catalog
from chatops_site.deploys.models import Deployment

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
SIGNATURE = "v0=" + "a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"


@pytest.fixture
def json_lines():
    """Every `chatops.*` line written as production writes it, parsed back."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(logs.ContextFilter())
    handler.setFormatter(logs.JsonFormatter())
    logger = logging.getLogger("chatops")
    level = logger.level  # the console command lowers it in-process, for the rest of the session
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)

    def lines() -> list[dict]:
        return [json.loads(line) for line in stream.getvalue().splitlines()]

    yield lines
    logger.removeHandler(handler)
    logger.setLevel(level)


def test_the_request_id_follows_a_deploy_from_the_command_into_its_tasks(json_lines, say):
    with logs.request_scope("req-from-the-proxy"):
        say("alice", "/deploy web-app staging")

    deployment = Deployment.objects.get()
    transitions = [line for line in json_lines() if line["message"].startswith(f"#{deployment.pk} ")]
    assert [t["message"].split(": ")[1].split()[:3] for t in transitions] == [
        ["-", "->", "queued"],
        ["queued", "->", "dispatching"],
        ["dispatching", "->", "running"],
        ["running", "->", "succeeded"],
    ]
    assert {t["request_id"] for t in transitions} == {"req-from-the-proxy"}
    # The first comes from the command itself; the others from the tasks it set off, one after another.
    assert "task" not in transitions[0]
    assert [t["task"] for t in transitions[1:]] == ["start_next", "dispatch", "check"]
    assert {t["logger"] for t in transitions} == {"chatops.deploys"}


def test_each_command_gets_its_own_id_when_nothing_gave_one(json_lines, transactional_db):
    """Real commits (as in production): the tasks are enqueued when the command's transaction commits."""
    seed_catalog(delay="0s")
    for service in ("web-app", "api"):
        handle(
            Invocation.from_line(
                f"/deploy {service} staging", platform="console", workspace="local", chat_user_id="alice"
            )
        )

    ids = {}
    for line in json_lines():
        if "->" in line["message"]:
            ids.setdefault(line["message"].split()[1].split("/")[0], []).append(line["request_id"])
    assert {service: len(found) for service, found in ids.items()} == {"web-app": 4, "api": 4}
    assert len(set(ids["web-app"])) == 1 and len(set(ids["api"])) == 1
    assert ids["web-app"][0] != ids["api"][0]


def test_a_request_gets_an_id_and_answers_with_it(client, db):
    given = client.get("/healthz", HTTP_X_REQUEST_ID="abc-123")
    made_up = client.get("/healthz")
    hostile = client.get("/healthz", HTTP_X_REQUEST_ID='x" injected="y')

    assert given["X-Request-ID"] == "abc-123"
    assert len(made_up["X-Request-ID"]) == 32
    assert hostile["X-Request-ID"] != 'x" injected="y' and len(hostile["X-Request-ID"]) == 32


def test_secrets_and_signatures_never_reach_the_log(json_lines, settings):
    settings.SLACK_SIGNING_SECRET = SIGNING_SECRET
    log = logging.getLogger("chatops.test")

    log.warning("checking %s with secret %s", SIGNATURE, SIGNING_SECRET)
    log.info("calling out", extra={"header": "Authorization: Bearer xoxb-1234-5678-abcdefgh"})
    try:
        raise ValueError(f"bad signature {SIGNATURE} for key {SIGNING_SECRET}")
    except ValueError:
        log.exception("verification crashed")

    written = json.dumps(json_lines())
    assert SIGNING_SECRET not in written
    assert SIGNATURE[3:] not in written
    assert "xoxb-1234" not in written
    assert written.count(logs.REDACTED) >= 5


def test_json_lines_name_time_level_and_extras(json_lines):
    with logs.request_scope("r-1"):
        logging.getLogger("chatops.test").info("hello %s", "world", extra={"deployment": 7})

    [line] = json_lines()
    assert line["message"] == "hello world" and line["level"] == "INFO" and line["logger"] == "chatops.test"
    assert line["request_id"] == "r-1" and line["deployment"] == 7 and line["time"].endswith("+00:00")


# Every secret kind, through every logger the product writes to, in both formats.

# Each kind, as it appears in what gets logged, and the part of it that must never be written.
SECRETS = {
    "Discord webhook URL": ("https://discord.com/api/webhooks/112233/WEBHOOKTOKEN-abc_1", "WEBHOOKTOKEN-abc_1"),
    "Discord channel address": (
        "discord-webhook:https://canary.discordapp.com/api/webhooks/445566/CHANNELHOOK-xyz",
        "CHANNELHOOK-xyz",
    ),
    "Discord interaction URL": (
        "https://discord.com/api/v10/webhooks/778899/INTERACTION-TOK-123/messages/@original",
        "INTERACTION-TOK-123",
    ),
    "Discord interaction token": (
        "aW50ZXJhY3Rpb246MTEyMjMzNDQ1NTY2Nzc4ODk5OmFiY2RlZmdoaWprbG1ub3A",
        "MTEyMjMzNDQ1NTY2Nzc4ODk5OmFiY2RlZmdoaWprbG1ub3A",
    ),
    "Slack response_url": (
        "https://hooks.slack.com/commands/T0123ABC/4455667788/SLACKRESPONSESECRET",
        "SLACKRESPONSESECRET",
    ),
    "Slack response_url in a connection error": (
        "HTTPSConnectionPool(host='hooks.slack.com', port=443): Max retries exceeded with url: "
        "/actions/T0123ABC/998877/SPLITSECRET (Caused by NewConnectionError)",
        "SPLITSECRET",
    ),
    "another response_url": ("response_url=http://127.0.0.1:9999/response/STUBRESPONSESECRET", "STUBRESPONSESECRET"),
    "token in a query": ("https://example.com/callback?state=s1&token=QUERYTOKEN1", "QUERYTOKEN1"),
    "access_token in a query": ("https://example.com/oauth?access_token=ACCESSTOKEN2&x=1", "ACCESSTOKEN2"),
    "key in a query": ("https://maps.example.com/api?key=APIKEY3", "APIKEY3"),
    "code in a query": ("/slack/oauth/callback?code=OAUTHCODE4&state=xyz", "OAUTHCODE4"),
}
LOGGERS = ["chatops.deploys", "chatops.http", "chatops.notify", "django.request", "django-q", "django.server", "boto"]


@pytest.fixture(params=["plain", "json"])
def written(request, settings):
    """What the handler settings.LOGGING gives every logger writes, in one format."""
    handler = logging.getLogger("django-q").handlers[0]
    formats = settings.LOGGING["formatters"]
    formatter = logs.JsonFormatter() if request.param == "json" else logs.PlainFormatter(formats["plain"]["fmt"])
    stream = io.StringIO()
    old_stream, old_formatter = handler.setStream(stream), handler.formatter
    handler.setFormatter(formatter)
    yield stream.getvalue
    handler.setStream(old_stream)
    handler.setFormatter(old_formatter)


def log_each_way(name: str, text: str) -> None:
    """`text` in a message's arguments, an exception's text and traceback, and extra fields, as code does."""
    log = logging.getLogger(name)
    if name == "django.request":  # as Django itself logs a failed request, the request among the extras
        try:
            raise ConnectionError(f"could not reach {text}")
        except ConnectionError as exc:
            request = RequestFactory().get("/slack/oauth/callback", {"code": text, "state": "s1"})
            log_response(
                "Internal Server Error: %s", text, response=HttpResponse(status=500), request=request, exception=exc
            )
        return
    log.error("could not deliver news to %s", text)
    try:
        raise ConnectionError(f"could not reach {text}")
    except ConnectionError:
        log.exception("delivery failed")
    log.error("sent", extra={"url": text, "payload": {"token": text, "urls": [text]}, "target": _Named(text)})


class _Named:
    def __init__(self, text: str) -> None:
        self.text = text

    def __str__(self) -> str:
        return f"<target {self.text}>"


@pytest.mark.parametrize("name", LOGGERS)
def test_no_secret_kind_is_written_by_any_logger_in_either_format(written, name):
    for text, _ in SECRETS.values():
        log_each_way(name, text)

    output = written()
    assert output.count("could not reach") >= len(SECRETS)  # everything was written
    leaked = [kind for kind, (_, secret) in SECRETS.items() if secret in output]
    assert leaked == [], output
    assert "/webhooks/112233/[redacted]" in output and "hooks.slack.com" in output  # where it went stays readable
