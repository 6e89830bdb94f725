"""The console adapter: `manage.py chatops --as <user> "<command>"` through the real engine."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from bots.models import CommandRun
from chatops_site.demo import seed_catalog
from chatops_site.deploys.models import Deployment


@pytest.fixture
def chatops(transactional_db):
    """Real commits, so the tasks the engine enqueues run (inline) while the console follows them."""
    seed_catalog(delay="0s")

    def run(*args: str) -> str:
        out = StringIO()
        call_command("chatops", *args, stdout=out, stderr=StringIO())
        return out.getvalue()

    return run


def test_deploy_prints_the_answer_and_every_follow_up_to_the_end(chatops):
    output = chatops("--as", "alice", "/deploy web-app staging v2")

    lines = [line for line in output.splitlines() if not line.startswith("  ")]
    assert lines[0].startswith("⏳ Deploy #") and lines[0].endswith("web-app v2 to staging is queued")
    assert [line.split(" is ")[-1] for line in lines[1:3]] == ["dispatching", "running"]
    assert lines[-1].endswith("succeeded")
    assert "Artifact: registry.local/web-app:v2" in output


def test_a_refusal_is_printed_and_exits_non_zero(chatops):
    with pytest.raises(CommandError):
        chatops("--as", "carol", "/deploy web-app staging")
    run = CommandRun.objects.get()
    assert (run.user.username, run.outcome) == ("carol", "refused")
    assert not Deployment.objects.exists()


def test_a_prod_deploy_returns_while_it_waits_for_approval(chatops):
    output = chatops("--as", "alice", "/deploy api prod")

    assert "waiting for approval" in output and "Can approve: bob" in output
    assert Deployment.objects.get().state == "awaiting_approval"


def test_no_wait_returns_after_the_first_answer(chatops):
    output = chatops("--as", "alice", "--no-wait", "/deploy api dev")
    assert output.count("Deploy #") == 1


def test_without_text_it_opens_a_prompt(chatops, monkeypatch):
    typed = iter(["/whoami", "/status api dev", ""])
    monkeypatch.setattr("builtins.input", lambda prompt: next(typed))

    output = chatops("--as", "bob")

    assert "You are bob" in output and "api" in output
    assert CommandRun.objects.count() == 2
