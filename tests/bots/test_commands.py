"""The commands as people use them at the console: what they read back, and what the audit log keeps."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from bots.command_engine import handle
from bots.deployment_messages import describe
from bots.models import CommandRun, ConsoleMessage
from bots.registry import COMMANDS
from bots.types import Invocation
from chatops_site.catalog.models import ChatIdentity, DeployTarget, Grant, Service
from chatops_site.deploys.models import Deployment, Lock

MOMENT = r"\d\d:\d\d"  # format_moment of something that happened today


def run_of(reply) -> CommandRun:
    return CommandRun.objects.get(pk=reply.run_id)


def numbered(text: str) -> str:
    """The text with deployment numbers blanked, to compare two answers about different deployments."""
    return re.sub(r"#\d+", "#N", text)


@pytest.fixture
def dave(catalog):
    """Linked at the console, but holding no grant at all."""
    user = get_user_model().objects.create(username="dave")
    ChatIdentity.objects.create(platform="console", workspace="local", chat_user_id="dave", user=user)
    return user


# /help and the umbrella


def test_help_lists_every_command_with_its_usage_and_summary(say):
    reply = say("carol", "/help")
    assert reply.text.startswith("Commands (also as /ops <command> ...):")
    for cmd in COMMANDS.values():
        assert f"  {cmd.usage} - {cmd.summary}" in reply.text
    assert reply.text.endswith("Type /help <command> for details.")
    assert not reply.public
    assert run_of(reply).outcome == "ok"


def test_help_lists_the_commands_in_alphabetical_order(say):
    lines = say("carol", "/help").text.splitlines()[1:-1]
    names = [line.split()[0] for line in lines]
    assert names == sorted(f"/{name}" for name in COMMANDS)


@pytest.mark.parametrize("asked", ["deploy", "/deploy", "DEPLOY"])
def test_help_on_one_command_shows_its_usage_details_and_argument_help(say, asked):
    text = say("carol", f"/help {asked}").text
    assert text.splitlines() == [
        "/deploy <service> <env> [<version>] [--override <reason...>]",
        "Deploy a service to an environment",
        "Without a version, the target's default ref is deployed. "
        "Environments that require approval wait for a second person. "
        "--override <reason> passes a lock or a freeze (with the override grant; the channel hears it).",
        "  <service>: service name, e.g. web-app",
        "  <env>: environment name, e.g. staging",
        "  <version>: branch, tag or SHA",
        "  <override>: reason for passing a lock or a freeze (break-glass)",
    ]


def test_help_on_a_command_without_details_shows_usage_summary_and_arguments(say):
    assert say("carol", "/help reject").text.splitlines() == [
        "/reject <deployment> [<reason>...]",
        "Reject a deployment that waits for approval",
        "  <deployment>: deployment number, e.g. 12 or #12",
        "  <reason>: why, for the requester",
    ]


def test_help_is_open_to_people_whose_chat_account_is_not_linked(say):
    reply = say("nobody-knows-me", "/help")
    assert run_of(reply).outcome == "ok"
    assert "/deploy <service> <env> [<version>] [--override <reason...>]" in reply.text


def test_help_on_an_unknown_command_suggests_the_closest_one(say):
    reply = say("carol", "/help deplyo")
    assert reply.text == "unknown command /deplyo - did you mean /deploy? Try /help.\nUsage: /help [<command>]"
    assert run_of(reply).outcome == "invalid"


def test_ops_deploy_is_the_same_as_deploy(say):
    via_umbrella = say("alice", "/ops deploy web-app staging")
    direct = say("alice", "/deploy web-app staging")
    assert numbered(via_umbrella.text) == numbered(direct.text)
    assert via_umbrella.public == direct.public
    first, second = run_of(via_umbrella), run_of(direct)
    assert first.command == second.command == "deploy"
    assert first.args == second.args == {"service": "web-app", "env": "staging"}
    assert first.outcome == second.outcome == "ok"
    assert Deployment.objects.filter(state="succeeded").count() == 2


def test_ops_accepts_the_subcommand_with_a_slash_and_in_capitals(say):
    assert numbered(say("alice", "/ops /DEPLOY api dev").text) == "⏳ Deploy #N of api main to dev is queued"


def test_bare_ops_shows_help(say):
    reply = say("carol", "/ops")
    assert reply.text == say("carol", "/help").text
    assert run_of(reply).command == "help"


def test_ops_help_deploy_shows_the_help_of_deploy(say):
    assert say("carol", "/ops help deploy").text == say("carol", "/help deploy").text


def test_ops_accepts_any_whitespace_after_the_subcommand(say):
    reply = say("alice", "/ops deploy\tweb-app staging")
    assert run_of(reply).outcome == "ok", reply.text


def test_an_unknown_command_suggests_the_closest_one(say):
    reply = say("alice", "/deplyo web-app staging")
    assert reply.text == "unknown command /deplyo - did you mean /deploy? Try /help."
    run = run_of(reply)
    assert run.outcome == "invalid"
    assert run.command == "deplyo"
    assert run.error == reply.text
    assert not Deployment.objects.exists()


def test_an_unknown_command_without_a_close_match_points_to_help(say):
    reply = say("alice", "/frobnicate")
    assert reply.text.startswith("unknown command /frobnicate")
    assert reply.text.endswith("Try /help.")
    assert run_of(reply).outcome == "invalid"


def test_an_unknown_command_without_a_close_match_reads_as_two_sentences(say):
    assert say("alice", "/frobnicate").text == "unknown command /frobnicate. Try /help."


def test_a_command_with_wrong_arguments_answers_with_its_usage(say):
    reply = say("alice", "/deploy web-app")
    assert reply.text == "missing <env>\nUsage: /deploy <service> <env> [<version>] [--override <reason...>]"
    run = run_of(reply)
    assert run.outcome == "invalid"
    assert run.error == "missing <env>"


def test_a_typo_in_a_service_is_answered_with_a_suggestion_and_the_usage(say):
    reply = say("alice", "/deploy webap staging")
    assert reply.text == (
        "unknown service 'webap' - did you mean 'web-app'?\n"
        "Usage: /deploy <service> <env> [<version>] [--override <reason...>]"
    )
    assert run_of(reply).outcome == "invalid"
    assert not Deployment.objects.exists()


# /whoami and linking


def test_whoami_lists_alices_grants(say):
    reply = say("alice", "/whoami")
    assert reply.text.splitlines() == [
        "You are alice (console local/alice).",
        "  deploy: every service in every environment",
        "  rollback: every service in every environment",
        "  view: every service in every environment",
    ]


def test_whoami_names_scoped_and_group_grants(say, bob):
    group = bob.groups.create(name="oncall")
    Grant.objects.create(group=group, action="rollback", service=Service.objects.get(name="api"))
    lines = say("bob", "/whoami").text.splitlines()
    assert lines[0] == "You are bob (console local/bob)."
    assert "  approve: every service in prod" in lines
    assert "  deploy: every service in dev" in lines
    assert "  deploy: every service in staging" in lines
    assert "  rollback: api in every environment (via group oncall)" in lines


def test_whoami_of_a_linked_user_without_grants_says_so(say, dave):
    assert say("dave", "/whoami").text.splitlines() == [
        "You are dave (console local/dave).",
        "You hold no grants yet: you may use the commands open to everyone.",
    ]


def test_whoami_for_an_unlinked_chat_account_says_it_is_not_linked(say):
    reply = say("dave", "/whoami")
    assert (
        reply.text == "Your chat account (console local/dave) is not linked to a ChatOps user. Ask an admin to link it."
    )
    run = run_of(reply)
    assert run.outcome == "ok"
    assert run.user is None


def test_an_inactive_users_chat_account_counts_as_unlinked(say, alice):
    alice.is_active = False
    alice.save()
    assert "is not linked to a ChatOps user" in say("alice", "/whoami").text
    assert run_of(say("alice", "/deploy web-app dev")).outcome == "refused"
    assert not Deployment.objects.exists()


def test_an_unlinked_user_cannot_deploy_and_is_told_how_to_get_linked(say):
    reply = say("dave", "/deploy web-app staging")
    assert reply.text == (
        "Your console account (dave) is not linked to a ChatOps user yet. Ask an admin to add a chat identity "
        "for it; until then you can use /help, /whoami, /status."
    )
    assert not reply.public
    run = CommandRun.objects.get()
    assert run.pk == reply.run_id
    assert (run.outcome, run.user, run.chat_user_id, run.command) == ("refused", None, "dave", "deploy")
    assert run.error == reply.text
    assert run.args == {"service": "web-app", "env": "staging"}
    assert not Deployment.objects.exists()


def test_an_unlinked_user_may_look_at_status(say):
    reply = say("dave", "/status web-app")
    assert run_of(reply).outcome == "ok"
    assert status_answer(reply).startswith("web-app\n")


def test_an_identity_in_another_workspace_does_not_count(say, alice, django_capture_on_commit_callbacks):
    reply = handle(
        Invocation(platform="console", workspace="elsewhere", chat_user_id="alice", command="deploy", text="api dev")
    )
    assert run_of(reply).outcome == "refused"
    assert "is not linked" in reply.text


# /deploy


def test_carol_cannot_deploy_and_the_refusal_is_recorded(say):
    reply = say("carol", "/deploy web-app staging")
    assert reply.text == "carol may not deploy web-app in staging: ask an admin for the 'deploy' grant."
    assert not reply.public
    run = run_of(reply)
    assert (run.outcome, run.error) == ("refused", reply.text)
    assert run.user.username == "carol"
    assert run.deployment is None
    assert not Deployment.objects.exists()


def test_bob_cannot_deploy_to_prod_but_can_to_staging(say):
    assert say("bob", "/deploy web-app prod").text == (
        "bob may not deploy web-app in prod: ask an admin for the 'deploy' grant."
    )
    assert run_of(say("bob", "/deploy web-app staging")).outcome == "ok"
    assert list(Deployment.objects.values_list("target__environment__name", flat=True)) == ["staging"]


def test_alice_deploys_to_staging_publicly_and_follow_ups_end_with_a_final_message(say):
    reply = say("alice", "/deploy web-app staging")
    deployment = Deployment.objects.get()
    assert reply.public
    assert reply.text == f"⏳ Deploy #{deployment.pk} of web-app main to staging is queued"
    assert ("Requested by", "alice") in reply.fields
    assert deployment.state == "succeeded", deployment.detail
    assert deployment.version == "main"
    assert deployment.requested_by.username == "alice"
    run = run_of(reply)
    assert (run.outcome, run.deployment) == ("ok", deployment)
    follow_ups = list(ConsoleMessage.objects.filter(run=run))
    assert follow_ups, "the requester hears how the deployment went"
    assert follow_ups[-1].final
    assert not any(message.final for message in follow_ups[:-1])
    assert follow_ups[-1].text.startswith(f"✅ Deploy #{deployment.pk} of web-app main to staging succeeded")
    # The target's channel hears it too.
    assert ConsoleMessage.objects.filter(run=None, channel="ops", final=True).exists()


def test_deploy_of_a_given_version_records_it(say):
    reply = say("alice", '/deploy api dev "release/2024.11"')
    deployment = Deployment.objects.get()
    assert deployment.version == "release/2024.11"
    assert deployment.state == "succeeded"
    assert run_of(reply).args == {"service": "api", "env": "dev", "version": "release/2024.11"}


def test_deploy_to_prod_waits_for_bob_and_runs_once_he_approves(say):
    asked = say("alice", "/deploy web-app prod v2")
    deployment = Deployment.objects.get()
    assert asked.text == f"⏸ Deploy #{deployment.pk} of web-app v2 to prod is waiting for approval"
    assert ("Can approve", "bob") in asked.fields
    assert [(b.label, b.command, b.value) for b in asked.buttons] == [
        ("Approve", "approve", str(deployment.pk)),
        ("Reject", "reject", str(deployment.pk)),
    ]
    approved = say("bob", f"/approve #{deployment.pk}")
    assert run_of(approved).outcome == "ok"
    assert "approved by bob" in approved.text
    deployment.refresh_from_db()
    assert deployment.state == "succeeded"


def test_alice_cannot_approve_someone_elses_deploy_without_the_approve_grant(say, dave):
    Grant.objects.create(user=dave, action="deploy")
    say("dave", "/deploy web-app prod")
    waiting = Deployment.objects.get(state="awaiting_approval")
    reply = say("alice", f"/approve {waiting.pk}")
    assert reply.text == "alice may not approve web-app in prod: ask an admin for the 'approve' grant."
    assert run_of(reply).outcome == "refused"
    waiting.refresh_from_db()
    assert waiting.state == "awaiting_approval"


def test_nobody_approves_their_own_deploy(say, bob):
    Grant.objects.create(user=bob, action="deploy")
    say("bob", "/deploy web-app prod")
    waiting = Deployment.objects.get(state="awaiting_approval")
    reply = say("bob", f"/approve {waiting.pk}")
    assert reply.text == f"You requested #{waiting.pk} yourself; someone else must approve or reject it."
    assert run_of(reply).outcome == "refused"


# /status (the figures from AWS are tested in tests/aws/test_status.py)


def status_answer(reply) -> str:
    """/status acknowledges at once; its answer follows from a task (run inline here) as a console message."""
    assert reply.deferred
    return ConsoleMessage.objects.get(run_id=reply.run_id, final=True).text


def test_status_before_any_deploy_says_nothing_deployed(say):
    assert status_answer(say("carol", "/status api")).splitlines()[:4] == [
        "api",
        "  dev        nothing deployed yet",
        "  staging    nothing deployed yet",
        "  prod       nothing deployed yet",
    ]


def test_status_shows_the_version_per_environment_and_what_is_in_flight(say):
    say("alice", "/deploy web-app dev v3")
    say("alice", "/deploy web-app staging v2")
    say("alice", "/deploy web-app prod v2")
    dev = Deployment.objects.get(target__environment__name="dev")
    staging = Deployment.objects.get(target__environment__name="staging")
    waiting = Deployment.objects.get(target__environment__name="prod")
    lines = status_answer(say("carol", "/status web-app")).splitlines()
    assert lines[0] == "web-app"
    assert re.fullmatch(rf"  dev        v3  \(#{dev.pk} by alice, {MOMENT}\)", lines[1]), lines[1]
    assert re.fullmatch(rf"  staging    v2  \(#{staging.pk} by alice, {MOMENT}\)", lines[2]), lines[2]
    assert lines[3] == f"  prod       nothing deployed yet; #{waiting.pk} v2 awaiting approval"


def test_status_of_every_service_names_each_one_and_shows_locks(say):
    say("bob", "/lock worker prod change freeze")
    lines = status_answer(say("carol", "/status")).splitlines()
    assert [line for line in lines if not line.startswith(" ")][:3] == ["api", "web-app", "worker"]
    assert lines[-2] == "  prod       nothing deployed yet; 🔒 bob: change freeze"


def test_status_filtered_to_one_environment(say):
    lines = status_answer(say("carol", "/status api staging")).splitlines()
    assert lines[:2] == ["api", "  staging    nothing deployed yet"]


# /history


def test_history_needs_the_view_grant(say, dave):
    reply = say("dave", "/history")
    assert reply.text == "dave may not view history: ask an admin for the 'view' grant."
    run = run_of(reply)
    assert (run.outcome, run.error) == ("refused", reply.text)


def test_history_without_deployments_says_so(say):
    assert say("carol", "/history").text == "No deployments yet."


def test_history_shows_deployments_newest_first(say):
    for line in ("/deploy api dev v1", "/deploy web-app staging v2", "/deploy worker dev v3"):
        say("alice", line)
    first, second, third = Deployment.objects.order_by("id")
    lines = say("carol", "/history").text.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith(f"✅ #{third.pk} worker v3 -> dev  succeeded in 0s, by alice")
    assert lines[1].startswith(f"✅ #{second.pk} web-app v2 -> staging  succeeded in 0s, by alice")
    assert lines[2].startswith(f"✅ #{first.pk} api v1 -> dev  succeeded in 0s, by alice")


def test_history_filters_by_service_and_environment(say):
    for line in ("/deploy api dev v1", "/deploy api staging v2", "/deploy web-app dev v3"):
        say("alice", line)
    assert [line.split()[2:4] for line in say("carol", "/history api").text.splitlines()] == [
        ["api", "v2"],
        ["api", "v1"],
    ]
    only = say("carol", "/history api dev").text.splitlines()
    assert len(only) == 1
    assert " api v1 -> dev " in only[0]


def test_history_shows_only_what_a_scoped_view_grant_covers(say, dave):
    Grant.objects.create(user=dave, action="view", service=Service.objects.get(name="api"))
    say("alice", "/deploy api dev v1")
    say("alice", "/deploy web-app dev v2")
    lines = say("dave", "/history").text.splitlines()
    assert len(lines) == 1
    assert " api v1 -> dev " in lines[0]


def test_history_shows_at_most_ten_deployments(say):
    for n in range(12):
        say("alice", f"/deploy api dev v{n}")
    lines = say("carol", "/history").text.splitlines()
    assert len(lines) == 10
    assert " api v11 -> dev " in lines[0]


# /lock and /unlock


def test_a_locked_target_refuses_deploys_with_who_when_and_why(say):
    locked = say("bob", "/lock web-app staging release freeze")
    assert locked.public
    assert re.fullmatch(
        rf"🔒 web-app/staging is locked by bob since {MOMENT}: release freeze\. /unlock web-app staging lifts it\.",
        locked.text,
    ), locked.text
    reply = say("alice", "/deploy web-app staging")
    assert re.fullmatch(rf"web-app/staging is locked by bob since {MOMENT}: release freeze\.", reply.text), reply.text
    assert not reply.public
    run = run_of(reply)
    assert (run.outcome, run.error) == ("refused", reply.text)
    assert not Deployment.objects.exists()


def test_a_lock_covers_only_its_own_target(say):
    say("bob", "/lock web-app staging")
    assert run_of(say("alice", "/deploy web-app dev")).outcome == "ok"
    assert run_of(say("alice", "/deploy api staging")).outcome == "ok"


def test_locking_twice_is_refused(say):
    say("bob", "/lock web-app staging release freeze")
    reply = say("bob", "/lock web-app staging again")
    assert reply.text.startswith("Already locked: web-app/staging is locked by bob since")
    assert run_of(reply).outcome == "refused"


def test_unlock_lifts_the_freeze_and_deploys_work_again(say):
    say("bob", "/lock web-app staging release freeze")
    reply = say("bob", "/unlock web-app staging")
    assert reply.text == "🔓 web-app/staging unlocked by bob; queued deploys start now."
    assert reply.public
    lock = Lock.objects.get()
    assert lock.released_by.username == "bob"
    assert lock.released_at is not None
    say("alice", "/deploy web-app staging")
    assert Deployment.objects.get().state == "succeeded"


def test_unlock_of_a_target_that_is_not_locked_is_refused(say):
    reply = say("bob", "/unlock web-app staging")
    assert reply.text == "web-app/staging is not locked."
    assert run_of(reply).outcome == "refused"


def test_lock_needs_the_lock_grant(say):
    reply = say("alice", "/lock web-app staging")
    assert reply.text == "alice may not lock / unlock web-app in staging: ask an admin for the 'lock' grant."
    assert run_of(reply).outcome == "refused"
    assert not Lock.objects.exists()


# Retries and the audit log


def test_the_same_request_handled_twice_is_answered_once(catalog, django_capture_on_commit_callbacks):
    def deliver():
        with django_capture_on_commit_callbacks(execute=True):
            return handle(
                Invocation(
                    platform="console",
                    workspace="local",
                    chat_user_id="alice",
                    command="deploy",
                    text="web-app staging",
                    request_id="req-42",
                )
            )

    first, retry = deliver(), deliver()
    assert CommandRun.objects.count() == 1
    assert Deployment.objects.count() == 1
    assert retry.text == first.text
    assert retry.public == first.public
    assert retry.run_id == first.run_id


def test_the_same_request_id_on_another_platform_is_another_request(catalog):
    for platform in ("console", "slack"):
        handle(Invocation(platform=platform, workspace="local", chat_user_id="x", command="help", request_id="r1"))
    assert CommandRun.objects.count() == 2


@pytest.mark.parametrize(
    ("user", "line", "outcome", "args"),
    [
        ("alice", "/deploy web-app staging v1", "ok", {"service": "web-app", "env": "staging", "version": "v1"}),
        ("carol", "/deploy api prod", "refused", {"service": "api", "env": "prod"}),
        ("alice", "/deploy webap dev", "invalid", {"service": "webap", "env": "dev"}),
        ("bob", "/lock worker dev because", "ok", {"service": "worker", "env": "dev", "reason": "because"}),
        ("carol", "/history api prod", "ok", {"service": "api", "env": "prod"}),
    ],
)
def test_every_command_run_records_timings_arguments_service_and_environment(say, user, line, outcome, args):
    reply = say(user, line)
    run = run_of(reply)
    assert run.outcome == outcome
    assert run.args == args
    assert run.service == args["service"]
    assert run.environment == args["env"]
    assert run.text == line.partition(" ")[2]
    assert run.user.username == user
    assert run.reply == reply.text
    assert run.reply_public == reply.public
    assert run.duration_ms is not None
    assert run.duration_ms >= 0
    assert run.finished_at is not None
    assert run.finished_at >= run.received_at


def test_a_command_without_service_or_environment_records_them_blank(say):
    run = run_of(say("carol", "/whoami"))
    assert (run.args, run.service, run.environment, run.outcome) == ({}, "", "", "ok")
    assert run.finished_at is not None
    assert run.duration_ms is not None


def test_a_long_queue_is_summed_up_in_the_answer(alice):
    target = DeployTarget.objects.get(service__name="web-app", environment__name="staging")
    start = timezone.now()
    queued = [
        Deployment.objects.create(
            target=target, version=f"v{n}", requested_by=alice, state="queued", queued_at=start + timedelta(seconds=n)
        )
        for n in range(6)
    ]
    first, second, third = (d.pk for d in queued[:3])

    assert describe(queued[2]).text.endswith(f"is queued; waiting behind #{first}, #{second}")
    assert describe(queued[5]).text == (
        f"⏳ Deploy #{queued[5].pk} of web-app v5 to staging is queued; waiting behind #{first}, #{second}, #{third} "
        "and 2 more"
    )
