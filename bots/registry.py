"""The command registry: one declaration per command (name, grammar, grant, help) used by everything.

Parsing, `/help`, and later Discord's command registration and Slack's manifest all read it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from bots.grammar import Arg
from bots.types import Invocation, Reply


@dataclass
class Context:
    """What a command handler gets: who asked, with which arguments, and the audit row."""

    invocation: Invocation
    user: object  # the linked Django user, or None
    args: dict
    deployment: object = None  # set by handlers whose command acts on a deployment: follow-ups go here
    run: object = None  # the CommandRun being answered: tasks send their follow-ups through it
    command: Command | None = None


@dataclass(frozen=True)
class Command:
    name: str
    summary: str  # one line; Discord allows at most 100 characters
    args: tuple[Arg, ...]
    handler: Callable[[Context], Reply] = field(compare=False)
    action: str | None = None  # the grant checked on the parsed service/env before the handler runs
    details: str = ""

    @property
    def usage(self) -> str:
        return " ".join([f"/{self.name}", *(arg.usage for arg in self.args)])


COMMANDS: dict[str, Command] = {}


def command(name: str, summary: str, *args: Arg, action: str | None = None, details: str = ""):
    """Register the decorated function as the handler of `/name`."""

    def register(handler: Callable[[Context], Reply]) -> Callable[[Context], Reply]:
        assert name not in COMMANDS, f"/{name} is declared twice"
        assert len(summary) <= 100, f"/{name}: summary longer than Discord allows"
        COMMANDS[name] = Command(name, summary, tuple(args), handler, action, details)
        return handler

    return register
