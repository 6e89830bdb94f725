"""Rate limits per chat user and per workspace, shared by every process through the database."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings
from django.utils import timezone

from bots.command_engine import handle
from bots.models import CommandRun
from bots.platforms.console import WORKSPACE
from bots.types import Invocation
from chatops_site import ratelimit
from chatops_site.demo import seed_catalog
from chatops_site.deploys.models import Deployment
from tests.services import database_url

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def limited(settings):
    settings.CHATOPS_RATE_LIMIT = "3/m"
    settings.CHATOPS_WORKSPACE_RATE_LIMIT = "100/m"


def test_the_command_over_the_limit_is_told_to_slow_down_and_recorded(limited, say):
    answers = [say("alice", "/whoami") for _ in range(3)]
    over = say("alice", "/whoami")

    assert all("Slow down" not in a.text for a in answers)
    assert over.text.startswith("Slow down: you sent more than 3 commands in 1m. Try again in ")
    assert over.text.endswith(" s.") and not over.public
    run = CommandRun.objects.get(pk=over.run_id)
    assert (run.outcome, run.command, run.reply) == ("rate_limited", "whoami", over.text)
    assert run.finished_at is not None


def test_nothing_runs_for_a_rate_limited_deploy(limited, say):
    for _ in range(3):
        say("alice", "/status")

    over = say("alice", "/deploy web-app staging")

    assert "Slow down" in over.text
    assert not Deployment.objects.exists()
    run = CommandRun.objects.get(pk=over.run_id)
    assert run.outcome == "rate_limited" and run.deployment is None
    assert run.args == {"service": "web-app", "env": "staging"}, "the record still says what was asked"


def test_one_users_limit_leaves_the_others_alone(limited, say):
    for _ in range(4):
        say("alice", "/whoami")

    assert "Slow down" not in say("bob", "/whoami").text


def test_the_workspace_limit_counts_all_its_users_together(settings, say):
    settings.CHATOPS_RATE_LIMIT = "10/m"
    settings.CHATOPS_WORKSPACE_RATE_LIMIT = "4/m"
    for user in ("alice", "bob", "carol", "alice"):
        assert "Slow down" not in say(user, "/whoami").text

    over = say("bob", "/whoami")

    assert over.text.startswith("Slow down: this workspace sent more than 4 commands in 1m.")
    other_place = handle(Invocation.from_line("/whoami", platform="slack", workspace="T2", chat_user_id="U1"))
    assert "Slow down" not in other_place.text


def test_the_window_reopens_after_the_period(limited, say, monkeypatch):
    for _ in range(4):
        say("alice", "/whoami")
    later = timezone.now() + timedelta(seconds=61)
    monkeypatch.setattr(ratelimit.timezone, "now", lambda: later)

    assert "Slow down" not in say("alice", "/whoami").text


def test_a_retried_request_is_answered_from_the_record_not_counted(limited, catalog):
    invocation = Invocation.from_line(
        "/whoami", platform="console", workspace="local", chat_user_id="alice", request_id="r1"
    )
    first = handle(invocation)
    for _ in range(5):
        assert handle(invocation).text == first.text
    assert "Slow down" not in handle(Invocation.from_line("/whoami", platform="console", chat_user_id="alice")).text


@pytest.mark.parametrize("text", ["20/m", "100/h", "5/10s", "1/d"])
def test_rates_are_read_as_written(text):
    rate = ratelimit.parse_rate(text)
    assert rate.limit == int(text.split("/")[0])


@pytest.mark.parametrize("text", ["", "20", "x/m", "0/m", "20/fortnight", "-1/m"])
def test_a_bad_rate_stops_the_checks(settings, text):
    settings.CHATOPS_RATE_LIMIT = text
    with pytest.raises(SystemCheckError, match="CHATOPS_RATE_LIMIT"):
        call_command("check")


@pytest.mark.django_db(transaction=True)
def test_the_limit_is_shared_with_another_process():
    """Two commands here, three from a console in another process, one more here: 4 pass, 2 do not."""
    seed_catalog(delay="0s")
    line = dict(platform="console", workspace="local", chat_user_id="alice")
    with override_settings(CHATOPS_RATE_LIMIT="4/h", CHATOPS_WORKSPACE_RATE_LIMIT="100/h"):
        here = [handle(Invocation.from_line("/whoami", **line)) for _ in range(2)]
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "chatops_site.settings",
            "DATABASE_URL": database_url(),
            "CHATOPS_RATE_LIMIT": "4/h",
        }
        there = subprocess.run(
            [sys.executable, "manage.py", "chatops", "--as", "alice"],
            input="/whoami\n/whoami\n/whoami\n",
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        last = handle(Invocation.from_line("/whoami", **line))

    assert all("Slow down" not in r.text for r in here)
    assert there.stdout.count("You are alice") == 2, there.stdout + there.stderr
    assert there.stdout.count("Slow down: you sent more than 4 commands in 1h.") == 1
    assert last.text.startswith("Slow down")
    outcomes = sorted(CommandRun.objects.values_list("outcome", flat=True))
    assert outcomes == ["ok"] * 4 + ["rate_limited"] * 2


def test_the_window_slides_and_refused_commands_do_not_keep_a_user_out(limited, say):
    fifty_seconds_ago = timezone.now() - timedelta(seconds=50)
    for outcome in ["ok", "ok", "rate_limited", "rate_limited", "rate_limited"]:
        CommandRun.objects.create(
            platform="console",
            workspace=WORKSPACE,
            chat_user_id="alice",
            command="whoami",
            outcome=outcome,
            received_at=fifty_seconds_ago,
        )

    assert "Slow down" not in say("alice", "/whoami").text  # two counted before it, three refused ones not

    over = say("alice", "/whoami")
    assert re.fullmatch(r"Slow down: you sent more than 3 commands in 1m\. Try again in 1[01] s\.", over.text)
