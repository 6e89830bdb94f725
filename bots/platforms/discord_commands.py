"""Discord's slash commands, generated from the engine's grammar (the one source of truth), both ways:
the definitions `discord_register_commands` uploads, and typed options back into the engine's text.

https://discord.com/developers/docs/interactions/application-commands#application-command-object
"""

from __future__ import annotations

import shlex

import bots.commands  # noqa: F401 - registers the commands
from bots.grammar import Arg
from bots.registry import COMMANDS, Command

CHAT_INPUT = 1
STRING, INTEGER = 3, 4
# Discord shows option names; "environment" reads better there than the grammar's short "env".
OPTION_NAMES = {"env": "environment"}
# Options whose values we suggest while the user types (see discord_autocomplete).
AUTOCOMPLETED = {"service", "environment", "version"}


class OptionGap(Exception):
    """An optional option was given while an earlier one was left out; the grammar reads them in order."""


def option_name(arg: Arg) -> str:
    return OPTION_NAMES.get(arg.name, arg.name)


def definitions() -> list[dict]:
    """Every command as Discord's bulk-overwrite payload expects it, in name order."""
    return [_definition(cmd) for cmd in sorted(COMMANDS.values(), key=lambda c: c.name)]


def command_text(name: str, options: list[dict]) -> str:
    """The argument text the engine parses, from the typed options, in the grammar's order.

    /deploy service:web-app environment:prod -> "web-app prod". Values are quoted so that a reason with
    spaces stays one argument.
    """
    command = COMMANDS.get(name)
    if command is None:
        return ""  # the engine answers unknown commands
    given = {o.get("name"): o.get("value") for o in options}
    words: list[str] = []
    skipped: Arg | None = None
    for arg in command.args:
        value = given.get(option_name(arg))
        if value is None or str(value).strip() == "":
            skipped = skipped or arg
            continue
        if skipped is not None:
            raise OptionGap(
                f"/{name} reads its options in order ({', '.join(option_name(a) for a in command.args)}): "
                f"give {option_name(skipped)} too when you give {option_name(arg)}."
            )
        words.append(shlex.quote(str(value).strip()))
    return " ".join(words)


def _definition(command: Command) -> dict:
    definition = {"name": command.name, "type": CHAT_INPUT, "description": command.summary}
    if command.args:
        definition["options"] = [_option(arg) for arg in command.args]
    return definition


def _option(arg: Arg) -> dict:
    option = {"name": option_name(arg), "description": arg.help[:100], "required": arg.required}
    if arg.kind == "deployment":
        return {**option, "type": INTEGER, "min_value": 1}
    option.update(type=STRING, max_length=arg.max_length)
    if option["name"] in AUTOCOMPLETED:
        option["autocomplete"] = True
    return option
