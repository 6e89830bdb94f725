"""Discord's slash commands, generated from the engine's grammar (the one source of truth), both ways:
the definitions `discord_register_commands` uploads, and typed options back into the grammar's names.

https://discord.com/developers/docs/interactions/application-commands#application-command-object
"""

from __future__ import annotations

import shlex

from bots.grammar import Arg
from bots.registry import COMMANDS, Command

CHAT_INPUT = 1
STRING, INTEGER = 3, 4
# Discord shows option names; "environment" reads better there than the grammar's short "env".
OPTION_NAMES = {"env": "environment"}
GRAMMAR_NAMES = {shown: name for name, shown in OPTION_NAMES.items()}
# Options whose values we suggest while the user types (see autocomplete.py).
AUTOCOMPLETED = {"service", "environment", "version"}


def option_name(arg: Arg) -> str:
    return OPTION_NAMES.get(arg.name, arg.name)


def definitions() -> list[dict]:
    """Every command as Discord's bulk-overwrite payload expects it, in name order."""
    return [_definition(cmd) for cmd in sorted(COMMANDS.values(), key=lambda c: c.name)]


def typed(name: str, options: list[dict]) -> tuple[str, dict[str, str] | None]:
    """What the user typed, for the engine: a readable rendering for the audit trail, and the values by name.

    /status environment:prod -> ("environment:prod", {"env": "prod"}): the values are keyed by the grammar's
    argument names, so any optional option may be given alone. An unknown command has no grammar to read
    its options by; the engine answers it.
    """
    command = COMMANDS.get(name)
    if command is None:
        return "", None
    given = {
        str(o.get("name", "")): str(o["value"]) for o in options if isinstance(o, dict) and o.get("value") is not None
    }
    order = [option_name(arg) for arg in command.args]
    shown = sorted(given, key=lambda n: order.index(n) if n in order else len(order))
    text = " ".join(f"{n}:{shlex.quote(given[n])}" for n in shown)
    return text, {GRAMMAR_NAMES.get(n, n): value for n, value in given.items()}


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
