"""Slack rate-limits the bot (429 with Retry-After) for a while, then fails (500), during a burst of deploys.

Once Slack is back, each deployment has one message in its channel, posted once and edited as the
deployment moves along, and it ends showing how the deployment ended.
"""

from __future__ import annotations

import threading
import time

import pytest

from tests.faults.conftest import CHANNEL, Stack, tag_versions, until
from tests.stubs import Answer
from tests.stubs.github_api import GitHubStub
from tests.stubs.slack_api import SlackApi, arguments

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis]

TARGETS = [("web-app", "dev"), ("web-app", "staging"), ("api", "dev"), ("api", "staging")]
WRITES = r"/api/chat[.](postMessage|update)"


class Outage:
    """Slack's writes answer 429 (Retry-After: 1 s) for `limited` seconds, then 500 for `failing` seconds,
    from the first write whose text holds `trigger`."""

    def __init__(self, slack: SlackApi, limited: float, failing: float, trigger: str = "") -> None:
        self.limited, self.failing, self.trigger, self.started = limited, failing, trigger, 0.0
        self.refused: list[int] = []
        self._lock = threading.Lock()
        post, update = slack._authorized(slack._post), slack._authorized(slack._update)
        slack.route("POST", r"/api/chat[.]postMessage", lambda call: self._answer(call, post))
        slack.route("POST", r"/api/chat[.]update", lambda call: self._answer(call, update))

    @property
    def over(self) -> bool:
        return bool(self.started) and time.monotonic() >= self.started + self.limited + self.failing

    def _answer(self, call, healthy):
        with self._lock:
            if not self.started and self.trigger in str(arguments(call).get("text", "")):
                self.started = time.monotonic()
        elapsed = time.monotonic() - self.started if self.started else -1
        if 0 <= elapsed < self.limited:
            status, answer = 429, Answer(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "1"})
        elif 0 <= elapsed < self.limited + self.failing:
            status, answer = 500, Answer(500, "internal server error")
        else:
            return healthy(call)
        with self._lock:
            self.refused.append(status)
        return answer


def slack_targets(stack: Stack, github: GitHubStub, delay: str) -> None:
    """The demo catalog, simulated targets telling a Slack channel (versions are pinned on GitHub)."""
    tag_versions(github, ("v1",))
    stack.shell(
        f"from chatops_site.demo import seed_catalog; seed_catalog(delay={delay!r})\n"
        "from chatops_site.catalog.models import DeployTarget\n"
        f"DeployTarget.objects.update(channel='slack:{CHANNEL}')\n"
    )


def final_messages(stack: Stack, slack: SlackApi, ids: list[int]) -> dict[int, str]:
    """What each deployment's message in the channel says now ("" when it has none)."""
    posted = dict(stack.rows("SELECT key, message_id FROM bots_postedmessage WHERE platform = 'slack'"))
    return {d: slack.messages.get((CHANNEL, posted.get(f"deployment:{d}", "")), {}).get("text", "") for d in ids}


def show(stack: Stack, slack: SlackApi, outage: Outage, ids: list[int]) -> None:
    """What happened, printed for a failing test."""
    print("refused:", outage.refused)
    print("deliveries:", stack.rows("SELECT key, ok, error FROM bots_channeldelivery WHERE channel LIKE 'slack:%%'"))
    print("messages:", final_messages(stack, slack, ids))


def succeeded(stack: Stack) -> bool:
    return {state for (state,) in stack.rows("SELECT state FROM deploys_deployment")} == {"succeeded"}


def test_deploy_messages_reach_slack_once_and_end_right_after_a_rate_limit_and_an_outage(stack, slack, github):
    slack_targets(stack, github, "4s")
    outage = Outage(slack, limited=2, failing=2)
    stack.deploy(*(f"/deploy {service} {env} v1" for service, env in TARGETS))
    ids = [row[0] for row in stack.rows("SELECT id FROM deploys_deployment ORDER BY id")]
    assert len(ids) == 4

    try:
        until(lambda: outage.over, 20, "the outage to end")
        until(lambda: succeeded(stack), what="every deploy to succeed")
        until(
            lambda: all(
                f"#{d} of" in text and "succeeded" in text for d, text in final_messages(stack, slack, ids).items()
            ),
            30,
            "each deployment's message to show it succeeded",
        )
    finally:
        show(stack, slack, outage, ids)
    # Slack was asked to wait, then failed, while the deploys moved along...
    assert 429 in outage.refused and 500 in outage.refused
    # ...and the channel has one message per deployment, posted once, that ends showing its success.
    assert len(slack.channel_messages(CHANNEL)) == len(ids)
    assert sorted(int(m["text"].split("#")[1].split()[0]) for m in slack.channel_messages(CHANNEL)) == ids


def test_a_deploy_that_ends_while_slack_fails_still_shows_its_end_once_slack_is_back(stack, slack, github):
    """The post of "succeeded" fails (a 500, never retried for a POST): the minute sweep posts it again."""
    slack_targets(stack, github, "2s")
    outage = Outage(slack, limited=0, failing=3, trigger="succeeded")
    stack.deploy("/deploy web-app dev v1")
    [(deployment_id,)] = stack.rows("SELECT id FROM deploys_deployment")

    until(lambda: outage.over, 30, "the outage to end")
    assert succeeded(stack)
    assert 500 in outage.refused
    stack.shell("from chatops_site.deploys import tasks; tasks.sweep()")  # as the minute schedule runs it
    try:
        until(lambda: "succeeded" in final_messages(stack, slack, [deployment_id])[deployment_id], 20, "the end")
    finally:
        show(stack, slack, outage, [deployment_id])
