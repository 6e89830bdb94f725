"""The outside-HTTP door (integrations/http.py): retries, verdicts and accounting, against a real local server."""

from __future__ import annotations

import logging
import socket

import pytest

from chatops_site import metrics
from integrations.http import OutsideError, OutsideSession, session
from tests.stubs import Answer, StubServer


@pytest.fixture
def stub():
    with StubServer() as server:
        yield server


def answers(*script: Answer | dict):
    """A handler that gives these answers in turn, then keeps giving the last."""
    given = list(script)

    def handler(call):
        return given.pop(0) if len(given) > 1 else given[0]

    return handler


def closed_port() -> int:
    """A port nobody listens on, so connecting is refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def counted(system: str, status: str) -> float:
    [family] = metrics.OUTSIDE_CALLS.collect()
    labels = {"system": system, "status": status}
    return sum(s.value for s in family.samples if s.name.endswith("_total") and s.labels == labels)


# Rate limits: the request was not processed, so any method is asked again after the wait named


def test_a_429_with_retry_after_is_waited_out_and_retried():
    n = {"i": 0}

    def h(call):
        n["i"] += 1
        return Answer(429, {"retry_after": 0.05}) if n["i"] == 1 else {"ok": True, "got": call.json()}

    with StubServer() as stub:
        stub.route("POST", r"/x", h)
        r = session("test").call("POST", stub.url + "/x", what="a post", json={"a": 1})
        assert r.json() == {"ok": True, "got": {"a": 1}}
        assert len(stub.calls_to("/x")) == 2


def test_a_post_answered_429_with_a_short_retry_after_is_sent_again_after_that_wait(stub, waits):
    stub.route("POST", r"/deploy", answers(Answer(429, "slow down", {"Retry-After": "2"}), {"started": True}))

    response = session("test").call("POST", stub.url + "/deploy", what="a deploy", json={"v": 1})

    assert response.json() == {"started": True}
    assert waits == [2.0]
    assert [c.json() for c in stub.calls_to("/deploy")] == [{"v": 1}, {"v": 1}]


def test_discords_json_retry_after_is_honoured_too(stub, waits):
    stub.route("POST", r"/messages", answers(Answer(429, {"retry_after": 0.25, "global": False}), {"id": "1"}))

    assert session("test").call("POST", stub.url + "/messages", what="a message").json() == {"id": "1"}
    assert waits == [0.25]


def test_a_429_asking_for_a_long_wait_is_raised_at_once_as_rate_limited(stub, waits):
    stub.route("GET", r"/runs", lambda call: Answer(429, "slow down", {"Retry-After": "120"}))

    with pytest.raises(OutsideError) as limited:
        session("test").call("GET", stub.url + "/runs", what="the runs")

    error = limited.value
    assert (error.status, error.permanent, error.retry_after, error.rate_limited) == (429, False, 120.0, True)
    assert error.system == "test"
    assert len(stub.calls) == 1
    assert waits == []


def test_a_429_naming_no_wait_is_raised_at_once(stub, waits):
    stub.route("GET", r"/runs", lambda call: Answer(429, "slow down"))

    with pytest.raises(OutsideError) as limited:
        session("test").call("GET", stub.url + "/runs", what="the runs")

    assert (limited.value.permanent, limited.value.retry_after) == (False, None)
    assert len(stub.calls) == 1


# Server errors and lost connections: asked again only when asking twice cannot do a thing twice


def test_a_503_on_a_get_is_retried_with_a_short_backoff(stub, waits):
    stub.route("GET", r"/app", answers(Answer(503, "down"), Answer(502, "down"), {"name": "web"}))

    response = session("test").call("GET", stub.url + "/app", what="a read of web")

    assert response.json() == {"name": "web"}
    assert waits == [0.5, 1.0]
    assert len(stub.calls) == 3


def test_a_server_error_that_lasts_is_raised_as_transient_after_three_tries(stub, waits):
    stub.route("PATCH", r"/message", lambda call: Answer(500, "oops"))

    with pytest.raises(OutsideError) as failed:
        session("test").call("PATCH", stub.url + "/message", what="an edit")

    assert (failed.value.status, failed.value.permanent) == (500, False)
    assert str(failed.value) == "test answered 500 to an edit"
    assert len(stub.calls) == 3


def test_a_503_on_a_post_is_not_retried_as_the_server_may_have_acted(stub, waits):
    stub.route("POST", r"/sync", lambda call: Answer(503, "down"))

    with pytest.raises(OutsideError) as failed:
        session("test").call("POST", stub.url + "/sync", what="a sync")

    assert (failed.value.status, failed.value.permanent) == (503, False)
    assert len(stub.calls) == 1
    assert waits == []


def test_a_post_that_timed_out_is_not_retried(stub, waits):
    stub.delay = 0.5
    stub.route("POST", r"/sync", lambda call: {"ok": True})

    with pytest.raises(OutsideError) as failed:
        OutsideSession("test", timeout=0.1).call("POST", stub.url + "/sync", what="a sync")

    assert (failed.value.status, failed.value.permanent) == (0, False)
    assert str(failed.value) == "test did not answer a sync (ReadTimeout)"
    assert len(stub.calls) == 1


def test_a_post_whose_connection_was_refused_is_retried_as_it_never_left(waits):
    with pytest.raises(OutsideError) as failed:
        session("test").call("POST", f"http://127.0.0.1:{closed_port()}/sync", what="a sync")

    assert (failed.value.status, failed.value.permanent) == (0, False)
    assert str(failed.value) == "test did not answer a sync (ConnectionError)"
    assert waits == [0.5, 1.0]


def test_other_client_errors_are_permanent_and_not_retried(stub, waits):
    stub.route("GET", r"/missing", lambda call: Answer(404, {"message": "Not Found"}))

    with pytest.raises(OutsideError) as refused:
        session("test").call("GET", stub.url + "/missing", what="a read of web")

    assert (refused.value.status, refused.value.permanent) == (404, True)
    assert len(stub.calls) == 1


# What a client adds: which answers it accepts, and its own reading of a refusal


def test_ok_decides_which_answers_are_accepted(stub):
    stub.route("POST", r"/queue", lambda call: Answer(303, "", {"Location": "/item/1/"}))
    stub.route("POST", r"/chat", lambda call: {"ok": False, "error": "channel_not_found"})
    http = session("test")

    queued = http.call(
        "POST", stub.url + "/queue", what="a trigger", ok=lambda r: r.status_code in (201, 303), allow_redirects=False
    )
    assert queued.headers["Location"] == "/item/1/"
    with pytest.raises(OutsideError) as refused:
        http.call("POST", stub.url + "/chat", what="a message", ok=lambda r: r.json()["ok"])
    assert (refused.value.status, refused.value.permanent) == (200, True)


class BusyError(OutsideError):
    pass


def test_a_verdict_gives_a_clients_own_error_and_none_falls_back_to_the_doors(stub, waits):
    stub.route("GET", r"/busy", lambda call: Answer(400, {"message": "another operation is already in progress"}))
    stub.route("GET", r"/bad", lambda call: Answer(400, {"message": "bad revision"}))

    def verdict(response):
        if "in progress" in response.json()["message"]:
            return BusyError("busy: try later")  # status and system are filled in by the door
        return None

    http = session("test")
    with pytest.raises(BusyError) as busy:
        http.call("GET", stub.url + "/busy", what="a read", verdict=verdict)
    with pytest.raises(OutsideError) as bad:
        http.call("GET", stub.url + "/bad", what="a read", verdict=verdict)

    assert (busy.value.status, busy.value.system, busy.value.permanent) == (400, "test", False)
    assert len(stub.calls_to("/busy")) == 3  # a transient verdict on a GET is retried
    assert (type(bad.value), bad.value.permanent, str(bad.value)) == (OutsideError, True, "test answered 400 to a read")


def test_unanswered_words_the_error_when_no_answer_came(waits):
    def unanswered(exc):
        return BusyError(f"nobody home ({exc.__class__.__name__})")

    with pytest.raises(BusyError, match=r"nobody home \(ConnectionError\)") as failed:
        session("test").call("GET", f"http://127.0.0.1:{closed_port()}/", what="a read", unanswered=unanswered)

    assert (failed.value.status, failed.value.system) == (0, "test")


# Accounting and logs


def test_each_attempt_is_counted_once_in_metrics(stub, waits):
    stub.route("GET", r"/app", answers(Answer(503, "down"), {"name": "web"}))
    before = counted("counting", "5xx"), counted("counting", "2xx")

    session("counting").call("GET", stub.url + "/app", what="a read")

    assert (counted("counting", "5xx") - before[0], counted("counting", "2xx") - before[1]) == (1, 1)


def test_errors_and_logs_name_what_was_called_never_the_url(stub, waits, caplog):
    secret = "/webhooks/app-1/interaction-token-s3cret"
    stub.route("PATCH", secret, answers(Answer(502, "down"), Answer(404, {"message": "Unknown Webhook"})))

    with caplog.at_level(logging.INFO, "chatops.http"), pytest.raises(OutsideError) as refused:
        session("test").call("PATCH", stub.url + secret + "?wait=true", what="an edit of a follow-up")

    assert str(refused.value) == "test answered 404 to an edit of a follow-up"
    assert "an edit of a follow-up" in caplog.text
    assert "s3cret" not in caplog.text
