"""`manage.py discord_register_commands`: the slash commands Discord shows, generated from the grammar."""

from __future__ import annotations

import json
import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from bots.platforms.discord.commands import definitions, option_name
from bots.registry import COMMANDS

# Discord's limits for CHAT_INPUT commands and their options:
# https://discord.com/developers/docs/interactions/application-commands#application-command-object
NAME = re.compile(r"^[-_'\w]{1,32}$")
OPTION_TYPES = set(range(1, 12))


def register(*args: str) -> str:
    out = StringIO()
    call_command("discord_register_commands", *args, stdout=out)
    return out.getvalue()


def test_every_command_definition_keeps_within_discords_limits():
    payload = definitions()
    assert 0 < len(payload) <= 100
    assert len({c["name"] for c in payload}) == len(payload)
    for command in payload:
        # Discord caps a command's names, descriptions and choice values at 8000 characters together.
        assert len(json.dumps(command, ensure_ascii=False)) <= 8000
        assert NAME.match(command["name"]) and command["name"] == command["name"].lower()
        assert command["type"] == 1
        assert 1 <= len(command["description"]) <= 100
        options = command.get("options", [])
        assert len(options) <= 25
        assert len({o["name"] for o in options}) == len(options)
        required = [o["required"] for o in options]
        assert required == sorted(required, reverse=True), "required options must come first"
        for option in options:
            assert NAME.match(option["name"]) and option["name"] == option["name"].lower()
            assert 1 <= len(option["description"]) <= 100
            assert option["type"] in OPTION_TYPES
            assert len(option.get("choices", [])) <= 25
            assert not (option.get("autocomplete") and option.get("choices"))
            if option["type"] == 3 and "max_length" in option:
                assert 1 <= option["max_length"] <= 6000


def test_the_definitions_follow_the_grammar_in_its_order():
    by_name = {c["name"]: c for c in definitions()}
    assert set(by_name) == set(COMMANDS)
    for name, command in COMMANDS.items():
        assert by_name[name]["description"] == command.summary
        assert [o["name"] for o in by_name[name].get("options", [])] == [option_name(a) for a in command.args]
        assert [o["required"] for o in by_name[name].get("options", [])] == [a.required for a in command.args]


def test_deploy_has_autocompleted_service_environment_and_version():
    (deploy,) = [c for c in definitions() if c["name"] == "deploy"]
    assert [(o["name"], o["type"], o.get("autocomplete", False)) for o in deploy["options"]] == [
        ("service", 3, True),
        ("environment", 3, True),
        ("version", 3, True),
        ("override", 3, False),
    ]


def test_a_deployment_option_is_a_whole_number():
    (approve,) = [c for c in definitions() if c["name"] == "approve"]
    assert approve["options"][:1] == [
        {
            "name": "deployment",
            "description": "deployment number, e.g. 12 or #12",
            "required": True,
            "type": 4,
            "min_value": 1,
        }
    ]


def test_dry_run_prints_the_json_and_sends_nothing(discord_api):
    printed = json.loads(register("--dry-run"))
    assert printed == definitions()
    assert discord_api.calls == []


def test_registering_overwrites_the_global_commands_with_the_bot_token(discord_api):
    output = register()
    (call,) = discord_api.calls
    assert (call.method, call.path) == ("PUT", "/applications/app-1/commands")
    assert call.header("Authorization") == "Bot bot-token"
    assert discord_api.registrations == [("", definitions())]
    assert output.startswith(f"Registered {len(COMMANDS)} commands globally: /")


def test_registering_for_one_guild_puts_them_there(discord_api):
    output = register("--guild", "4242")
    assert [c.path for c in discord_api.calls] == ["/applications/app-1/guilds/4242/commands"]
    assert "in guild 4242" in output


def test_without_an_application_id_and_bot_token_it_says_what_to_set(settings):
    settings.DISCORD_APPLICATION_ID = ""
    settings.DISCORD_BOT_TOKEN = ""
    with pytest.raises(CommandError, match="set DISCORD_APPLICATION_ID and DISCORD_BOT_TOKEN first"):
        register()


def test_a_refusal_from_discord_is_reported_without_the_token(discord_api, settings):
    settings.DISCORD_BOT_TOKEN = "wrong-token"
    with pytest.raises(CommandError) as refused:
        register()
    assert str(refused.value) == "Discord refused the command registration: HTTP 401"
