"""Discord's typed options are read by name: any optional option may be given alone, in any order."""

from __future__ import annotations

from datetime import timedelta

from bots.models import CommandRun
from chatops_site.deploys.models import Deployment
from costs.periods import utc_today
from tests.discord.conftest import slash

EPHEMERAL = 64


def run() -> CommandRun:
    return CommandRun.objects.get()


def test_status_with_only_an_environment_answers_for_that_environment(interact, discord_api):
    payload = slash("status", environment="prod")
    assert interact(payload) == {"type": 5, "data": {"flags": EPHEMERAL}}
    recorded = run()
    assert (recorded.outcome, recorded.text, recorded.args) == ("ok", "environment:prod", {"env": "prod"})
    assert (recorded.service, recorded.environment) == ("", "prod")
    content = discord_api.original(payload["token"]).content
    assert all(name in content for name in ("web-app", "api", "worker"))
    assert content.count("  prod ") == 3 and "staging" not in content


def test_deploy_with_its_options_by_name_still_deploys(interact):
    answer = interact(slash("deploy", service="web-app", environment="staging"))
    deployment = Deployment.objects.get()
    assert (deployment.target.service.name, deployment.target.environment.name) == ("web-app", "staging")
    recorded = run()
    assert recorded.text == "service:web-app environment:staging"
    assert recorded.args == {"service": "web-app", "env": "staging"}
    assert recorded.deployment == deployment
    assert answer["data"]["content"].startswith(f"⏳ Deploy #{deployment.pk} of web-app")


def test_options_sent_in_another_order_are_recorded_in_the_grammars_order(interact):
    interact(slash("lock", user="bob", reason="release freeze", environment="prod", service="api"))
    recorded = run()
    assert recorded.text == "service:api environment:prod reason:'release freeze'"
    assert recorded.args == {"service": "api", "env": "prod", "reason": "release freeze"}


def test_a_missing_required_option_is_answered_privately_with_the_usage(interact):
    answer = interact(slash("deploy", service="web-app"))
    assert answer["type"] == 4 and answer["data"]["flags"] == EPHEMERAL
    assert (
        answer["data"]["content"]
        == "missing <env>\nUsage: /deploy <service> <env> [<version>] [--override <reason...>]"
    )
    assert (run().outcome, run().error) == ("invalid", "missing <env>")
    assert not Deployment.objects.exists()


def test_a_blank_required_option_counts_as_missing(interact):
    answer = interact(slash("deploy", service="web-app", environment="   "))
    assert answer["data"]["content"].startswith("missing <env>\n")


def test_an_unknown_option_name_is_answered_as_invalid(interact):
    answer = interact(slash("status", colour="blue"))
    assert answer["type"] == 4 and answer["data"]["flags"] == EPHEMERAL
    assert answer["data"]["content"] == "unexpected option 'colour'\nUsage: /status [<service>] [<env>]"
    assert (run().outcome, run().text) == ("invalid", "colour:blue")


def test_an_option_longer_than_its_column_is_refused(interact):
    answer = interact(slash("deploy", service="web-app", environment="staging", version="v" * 201))
    assert answer["data"]["content"].startswith("<version> is longer than 200 characters\n")
    assert not Deployment.objects.exists()


def test_characters_no_database_stores_are_dropped_from_options(interact):
    answer = interact(slash("status", **{"service": "web-\x00app", "env\ud800": "x"}))
    assert answer["data"]["content"].startswith("unexpected option 'env?'")
    assert run().outcome == "invalid"


def test_history_with_only_an_environment_lists_that_environment(interact):
    interact(slash("deploy", service="web-app", environment="staging", version="v1"))
    interact(slash("deploy", service="api", environment="dev", version="v2"))
    content = interact(slash("history", environment="dev"))["data"]["content"]
    assert "api v2 -> dev" in content and "staging" not in content


def test_cost_with_only_a_service_means_yesterday_for_it(interact):
    content = interact(slash("cost", user="carol", service="web-app"))["data"]["content"]
    assert content.startswith(f"💰 web-app costs yesterday, {utc_today() - timedelta(1)}")
