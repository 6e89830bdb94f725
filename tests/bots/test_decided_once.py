"""Each permission is decided once per command, in one layer: asking twice is how two rules drift apart."""

from __future__ import annotations

from collections import Counter

import pytest

from chatops_site.catalog import rbac
from chatops_site.deploys.models import Deployment, State


@pytest.fixture
def asked(monkeypatch) -> Counter:
    """How many times each grant was asked about, whatever answered (every check goes through `rbac.may`)."""
    questions: Counter = Counter()
    real = rbac.may

    def counting(user, action, *args, **kwargs):
        questions[action] += 1
        return real(user, action, *args, **kwargs)

    monkeypatch.setattr(rbac, "may", counting)
    return questions


@pytest.mark.parametrize(
    ("who", "line", "action", "answer"),
    [
        ("alice", "/deploy web-app staging v3", "deploy", "Deploy #"),
        ("carol", "/deploy web-app staging v2", "deploy", "carol may not deploy web-app in staging"),
        ("alice", "/rollback web-app staging", "rollback", "Rollback #"),
        ("bob", "/lock web-app prod release", "lock", "🔒 web-app/prod is locked by bob"),
        ("carol", "/lock web-app prod", "lock", "carol may not lock / unlock web-app in prod"),
        ("carol", "/cost web-app", "view", "💰 web-app costs yesterday"),
    ],
)
def test_a_command_asks_for_its_grant_once(say, asked, who, line, action, answer):
    say("alice", "/deploy web-app staging v1")
    say("alice", "/deploy web-app staging v2")
    asked.clear()

    reply = say(who, line)

    assert answer in reply.text
    assert asked[action] == 1


@pytest.mark.parametrize("decision", ["/approve", "/reject"])
def test_a_decision_asks_for_the_approve_grant_once(say, asked, decision):
    say("alice", "/deploy web-app prod v2")
    waiting = Deployment.objects.get(state=State.AWAITING_APPROVAL)
    asked.clear()

    reply = say("bob", f"{decision} {waiting.pk}")

    assert f"#{waiting.pk}" in reply.text
    assert asked["approve"] == 1


def test_unlock_asks_for_the_lock_grant_once(say, asked):
    say("bob", "/lock web-app prod")
    asked.clear()

    assert say("bob", "/unlock web-app prod").text.startswith("🔓 web-app/prod unlocked by bob")
    assert asked["lock"] == 1
