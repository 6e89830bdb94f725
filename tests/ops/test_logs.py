"""Structured logs: JSON lines with a request id that follows a command into its tasks, and no secrets."""

from __future__ import annotations

import io
import json
import logging

import pytest

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
