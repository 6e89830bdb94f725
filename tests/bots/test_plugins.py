"""Command plugins (entry-point group `chatops.commands`): the example `/oncall` plugin, installed in the test
environment from examples/oncall-plugin, gets everything a built-in command gets; a broken plugin is skipped,
named, and the rest loads."""

from __future__ import annotations

import importlib
import io
import json
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError, SystemCheckError
from django.urls import reverse
from django.utils import timezone

from bots import plugins
from bots.models import CommandRun
from bots.platforms.discord.commands import definitions
from bots.registry import COMMANDS
from chatops_site.catalog import rbac
from chatops_site.catalog.models import PLUGIN_ACTIONS, Grant, Service, action_choices


def run_of(reply) -> CommandRun:
    return CommandRun.objects.get(pk=reply.run_id)


@pytest.fixture
def schedule(settings, tmp_path) -> Path:
    """ONCALL_SCHEDULE: alice on call for payments until tomorrow, then bob for a week."""
    now = timezone.now().replace(second=0, microsecond=0)
    path = tmp_path / "oncall.csv"
    path.write_text(
        "team,name,start,end\n"
        f"payments,alice,{now - timedelta(days=1):%Y-%m-%d %H:%M},{now + timedelta(days=1):%Y-%m-%d %H:%M}\n"
        f"payments,bob,{now + timedelta(days=1):%Y-%m-%d %H:%M},{now + timedelta(days=8):%Y-%m-%d %H:%M}\n"
    )
    settings.ONCALL_SCHEDULE = str(path)
    return path


@pytest.fixture
def loads(monkeypatch, tmp_path):
    """`loads(name=source, ...)`: load plugins whose modules hold that source, as if pip had installed them.

    Entry point discovery is replaced for the call; the registry, the plugins' actions and the failures are
    put back as they were afterwards.
    """
    saved = dict(COMMANDS), dict(PLUGIN_ACTIONS), list(plugins.FAILURES)
    monkeypatch.syspath_prepend(str(tmp_path))
    modules: list[str] = []

    def load(**sources: str) -> list[plugins.Failure]:
        found = []
        for name, source in sources.items():
            module = f"chatops_test_plugin_{name}"
            (tmp_path / f"{module}.py").write_text(source)
            modules.append(module)
            found.append(importlib.metadata.EntryPoint(name, f"{module}", plugins.GROUP))
        importlib.invalidate_caches()
        monkeypatch.setattr(plugins, "entry_points", lambda group: found if group == plugins.GROUP else [])
        before = len(plugins.FAILURES)
        plugins.load()
        return plugins.FAILURES[before:]

    yield load
    COMMANDS.clear()
    COMMANDS.update(saved[0])
    PLUGIN_ACTIONS.clear()
    PLUGIN_ACTIONS.update(saved[1])
    plugins.FAILURES[:] = saved[2]
    for module in modules:
        sys.modules.pop(module, None)


def declaring(name: str, *, action: str = "page", second: str = "") -> str:
    """A plugin module that declares `/name` (and `/second`), needing `action`."""
    text = "from bots.registry import command\nfrom bots.types import Reply\n"
    for each in filter(None, (name, second)):
        text += (
            f"\n\n@command({each!r}, 'A test plugin command', reads={action!r})\n"
            f"def handler_{each.replace('-', '_')}(ctx):\n    return Reply('done')\n"
        )
    return text


# The example plugin, installed


def test_the_installed_example_is_registered_as_a_plugin_with_its_own_action():
    oncall = COMMANDS["oncall"]
    assert (oncall.plugin, oncall.reads, oncall.usage) == ("oncall", "oncall", "/oncall [<team>]")
    assert oncall.handler.__module__ == "chatops_oncall.commands"
    assert ("oncall", "run /oncall") in action_choices()
    assert not plugins.FAILURES


def test_oncall_is_in_help_like_any_command(say):
    listing = say("carol", "/help").text
    assert "  /oncall [<team>] - Who is on call now and next, for every team or one" in listing
    assert say("carol", "/help oncall").text.splitlines()[0] == "/oncall [<team>]"


def test_oncall_is_in_the_slack_manifest_with_its_usage_hint():
    out = io.StringIO()
    call_command("slack_manifest", "--url", "https://ops.example.com", stdout=out)
    commands = {c["command"]: c for c in yaml.safe_load(out.getvalue())["features"]["slash_commands"]}
    assert commands["/oncall"]["usage_hint"] == "[<team>]"
    assert commands["/oncall"]["url"] == "https://ops.example.com/slack/commands"


def test_oncall_is_in_discords_command_registration_with_its_option():
    by_name = {c["name"]: c for c in definitions()}
    assert by_name["oncall"]["description"] == COMMANDS["oncall"].summary
    assert [(o["name"], o["required"], o["type"]) for o in by_name["oncall"]["options"]] == [("team", False, 3)]
    out = io.StringIO()
    call_command("discord_register_commands", "--dry-run", stdout=out)
    assert "oncall" in {c["name"] for c in json.loads(out.getvalue())}


def test_oncall_without_the_grant_is_refused_privately_and_recorded(say, schedule):
    reply = say("carol", "/oncall")  # carol may view, nothing else
    assert reply.text == "carol may not run /oncall: ask an admin for the 'oncall' grant."
    assert not reply.public
    run = run_of(reply)
    assert (run.command, run.outcome, run.user.username) == ("oncall", "refused", "carol")
    assert run.error == reply.text


def test_oncall_with_the_grant_answers_from_the_schedule(say, carol, schedule):
    Grant.objects.create(user=carol, action="oncall")
    reply = say("carol", "/oncall payments")
    lines = reply.text.splitlines()
    assert lines[0].startswith("On call at ") and lines[0].endswith(" UTC:")
    assert lines[1].startswith("  payments: alice until ") and "; next bob from " in lines[1]
    assert not reply.public
    assert run_of(reply).outcome == "ok"


def test_a_group_grant_of_oncall_counts_too(say, carol, schedule):
    group = carol.groups.create(name="on-call")
    Grant.objects.create(group=group, action="oncall")
    assert run_of(say("carol", "/oncall")).outcome == "ok"


def test_an_unknown_team_is_invalid_with_the_usage(say, carol, schedule):
    Grant.objects.create(user=carol, action="oncall")
    reply = say("carol", "/oncall paymnts")
    assert reply.text == "unknown team 'paymnts' - did you mean 'payments'?\nUsage: /oncall [<team>]"
    assert run_of(reply).outcome == "invalid"


def test_plugin_commands_are_rate_limited_like_the_others(say, carol, schedule, settings):
    settings.CHATOPS_RATE_LIMIT = "2/m"
    Grant.objects.create(user=carol, action="oncall")
    outcomes = [run_of(say("carol", "/oncall")).outcome for _ in range(3)]
    assert outcomes == ["ok", "ok", "rate_limited"]


# Grants name plugin actions, in the admin and in the catalog file


def test_the_admin_accepts_a_grant_of_a_plugins_action(admin_client, carol):
    assert not rbac.may(carol, "oncall")
    response = admin_client.post(reverse("admin:catalog_grant_add"), {"user": carol.pk, "action": "oncall"})
    assert response.status_code == 302
    assert rbac.may(carol, "oncall")


def test_the_admin_refuses_an_action_nobody_declares(admin_client, carol):
    response = admin_client.post(reverse("admin:catalog_grant_add"), {"user": carol.pk, "action": "pager"})
    assert response.status_code == 200
    assert "pager is not one of the available choices" in str(response.context["adminform"].form.errors["action"])
    assert not Grant.objects.filter(action="pager").exists()


def test_the_admins_grant_form_offers_the_plugins_action(admin_client, catalog):
    form = admin_client.get(reverse("admin:catalog_grant_add")).context["adminform"].form
    assert ("oncall", "run /oncall") in form.fields["action"].choices


def test_the_catalog_file_grants_a_plugins_action_and_refuses_an_unknown_one(catalog, tmp_path):
    path = tmp_path / "catalog.yaml"
    path.write_text("grants:\n  - {user: carol, actions: [view, oncall]}\n")
    call_command("catalog", "apply", str(path), stdout=io.StringIO())
    assert Grant.objects.filter(user__username="carol", action="oncall", service=None, environment=None).exists()
    exported = io.StringIO()
    call_command("catalog", "export", stdout=exported)
    assert "oncall" in exported.getvalue()

    path.write_text("grants:\n  - {user: carol, actions: [pager]}\n")
    with pytest.raises(CommandError) as refused:
        call_command("catalog", "apply", str(path), stdout=io.StringIO())
    assert (
        "line 2: grant: unknown action 'pager' (use one of: deploy, rollback, approve, lock, view, override, oncall)"
        in str(refused.value)
    )


# Loading: whatever goes wrong with one plugin, the others load and the product starts


def test_a_plugin_that_fails_to_import_is_named_skipped_and_the_rest_loads(loads, caplog):
    failures = loads(broken="raise ImportError('No module named pagerduty')\n", pager=declaring("pager"))

    assert [str(f) for f in failures] == [
        "command plugin 'broken' (chatops_test_plugin_broken) was not loaded: ImportError: No module named pagerduty"
    ]
    assert "pager" in COMMANDS and COMMANDS["pager"].plugin == "pager"
    assert "command plugin 'broken' (chatops_test_plugin_broken) was not loaded" in caplog.text
    assert [r.levelname for r in caplog.records if "'broken'" in r.getMessage()] == ["ERROR"]
    assert ("page", "run /pager") in action_choices()


def test_manage_py_check_warns_about_a_skipped_plugin_and_a_strict_check_stops(loads):
    loads(broken="import chatops_no_such_module\n")

    err = io.StringIO()
    call_command("check", stderr=err, stdout=io.StringIO())
    assert "(bots.W001) command plugin 'broken' (chatops_test_plugin_broken) was not loaded: " in err.getvalue()
    assert "ModuleNotFoundError: No module named 'chatops_no_such_module'" in err.getvalue()
    with pytest.raises(SystemCheckError, match=r"bots\.W001"):  # as `make prod` runs it
        call_command("check", fail_level="WARNING", stderr=io.StringIO(), stdout=io.StringIO())


def test_a_plugin_may_not_replace_a_built_in_command(loads):
    (failure,) = loads(evil=declaring("deploy"))

    assert failure.reason == "/deploy is already declared by the built-in commands"
    assert COMMANDS["deploy"].plugin == "" and COMMANDS["deploy"].handler.__module__ == "bots.commands.deploy"


def test_a_plugin_may_not_take_another_plugins_command(loads):
    (failure,) = loads(second=declaring("oncall", action="oncall"))
    assert failure.reason == "/oncall is already declared by plugin 'oncall'"
    assert COMMANDS["oncall"].handler.__module__ == "chatops_oncall.commands"


def test_a_refused_plugin_leaves_none_of_its_commands_behind(loads):
    (failure,) = loads(half=declaring("page-me", second="status", action="pager"))
    assert failure.reason == "/status is already declared by the built-in commands"
    assert "page-me" not in COMMANDS
    assert "pager" not in dict(action_choices())


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        (declaring("ops"), "/ops: a command name is 1-32 of a-z, 0-9, - and _, and not /ops"),
        (declaring("Page"), "/Page: a command name is 1-32 of a-z, 0-9, - and _, and not /ops"),
        (declaring("page", action="Page Everyone"), "/page: the action 'Page Everyone' is not 1-20 of a-z"),
    ],
)
def test_a_malformed_declaration_is_refused(loads, source, reason):
    (failure,) = loads(bad=source)
    assert failure.reason.startswith(reason)


def test_a_linked_user_without_the_plugins_grant_is_refused_its_command(loads, say, catalog):
    loads(pager=declaring("pager"))
    user = get_user_model().objects.get(username="alice")  # alice may deploy everywhere, but not page
    reply = say("alice", "/pager")
    assert reply.text == "alice may not run /pager: ask an admin for the 'page' grant."
    Grant.objects.create(user=user, action="page")
    assert say("alice", "/pager").text == "done"


def test_a_plugins_grant_is_scoped_by_the_service_its_command_names(loads, say, carol):
    loads(
        peek=(
            "from bots.grammar import SERVICE\nfrom bots.registry import command\nfrom bots.types import Reply\n\n\n"
            "@command('peek', 'Peek at a service', SERVICE, reads='peek')\n"
            "def peek(ctx):\n    return Reply(f'peeked at {ctx.args[\"service\"].name}')\n"
        )
    )
    Grant.objects.create(user=carol, action="peek", service=Service.objects.get(name="web-app"))
    assert say("carol", "/peek web-app").text == "peeked at web-app"
    refused = say("carol", "/peek api")
    assert refused.text == "carol may not run /peek api: ask an admin for the 'peek' grant."
    assert run_of(refused).outcome == "refused"
