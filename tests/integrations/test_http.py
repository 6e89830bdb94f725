"""The shared outside-call session, against the shared stub server."""

from integrations.http import session
from tests.stubs import Answer, StubServer


def test_a_429_with_retry_after_is_waited_out_and_retried():
    n = {"i": 0}

    def h(call):
        n["i"] += 1
        return Answer(429, {"retry_after": 0.05}) if n["i"] == 1 else {"ok": True, "got": call.json()}

    with StubServer() as stub:
        stub.route("POST", r"/x", h)
        r = session("test").post(stub.url + "/x", json={"a": 1})
        assert r.json() == {"ok": True, "got": {"a": 1}}
        assert len(stub.calls_to("/x")) == 2
