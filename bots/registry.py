"""The command registry: one declaration per command (name, grammar, grant, help) used by everything.

Parsing, `/help`, Discord's command registration and Slack's manifest all read it. The built-in commands,
then the command plugins (`bots.plugins`), are registered when the app is ready (`bots.apps`), so whoever
reads the registry finds it full.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bots.grammar import Arg, InvalidCommand
from bots.types import Invocation, Reply
from chatops_site.catalog.rbac import Denied

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from bots.models import CommandRun
    from chatops_site.deploys.models import Deployment


@dataclass
class Context:
    """What a command handler gets: who asked, with which arguments, and the audit row."""

    invocation: Invocation
    user: User | None  # the linked Django user
    args: dict[str, Any]
    run: CommandRun  # the audit row being answered: tasks send their follow-ups through it
    command: Command
    deployment: Deployment | None = None  # set by handlers whose command acts on a deployment: follow-ups go here

    @property
    def person(self) -> User:
        """The linked user, for the commands that act; a chat account linked to nobody may not act."""
        if self.user is None:
            raise Denied(f"/{self.command.name} acts for a ChatOps user: ask an admin to link your chat account.")
        return self.user


@dataclass(frozen=True)
class Command:
    name: str
    summary: str  # one line; Discord allows at most 100 characters
    args: tuple[Arg, ...]
    handler: Callable[[Context], Reply] = field(compare=False)
    # The grant a reading command needs on the parsed service/env, checked by the command engine before the
    # handler runs. Commands that change something leave it blank: the domain function they call checks it,
    # so that every entry point (chat, web, REST API) meets the same check, once. A plugin's command names
    # its own action here ("oncall"), which grants may then name.
    reads: str | None = None
    details: str = ""
    # Reads the resolved arguments again before the grant check, for a grammar that cannot tell two
    # arguments apart by position (`/cost web-app` names a service where the period goes).
    refine: Callable[[dict[str, Any]], dict[str, Any]] | None = field(default=None, compare=False)
    plugin: str = ""  # the entry point that declared it; blank for the built-in commands

    @property
    def origin(self) -> str:
        return f"plugin '{self.plugin}'" if self.plugin else "the built-in commands"

    @property
    def usage(self) -> str:
        return " ".join([f"/{self.name}", *(arg.usage for arg in self.args)])


COMMANDS: dict[str, Command] = {}

# What Slack and Discord accept as a command name, and what the audit row keeps (32 characters); an action
# is what a grant's column keeps (20).
NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
ACTION = re.compile(r"[a-z][a-z0-9_-]{0,19}")
# `/ops deploy ...` is the umbrella for every command, so no command may be called that.
RESERVED = {"ops"}


class BadDeclaration(Exception):
    """A `@command` that cannot be registered: a name taken or malformed, a summary or an action out of bounds.

    Raised rather than asserted: a plugin's declaration is refused (and the plugin skipped) even under
    `python -O`, so no plugin ever replaces a built-in command.
    """


def command(
    name: str,
    summary: str,
    *args: Arg,
    reads: str | None = None,
    details: str = "",
    refine: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> Callable[[Callable[[Context], Reply]], Callable[[Context], Reply]]:
    """Register the decorated function as the handler of `/name`."""

    def register(handler: Callable[[Context], Reply]) -> Callable[[Context], Reply]:
        if name in COMMANDS:
            raise BadDeclaration(f"/{name} is already declared by {COMMANDS[name].origin}")
        if not NAME.fullmatch(name) or name in RESERVED:
            raise BadDeclaration(f"/{name}: a command name is 1-32 of a-z, 0-9, - and _, and not /ops")
        if not 0 < len(summary) <= 100:
            raise BadDeclaration(f"/{name}: the summary must be 1 to 100 characters (Discord's limit)")
        if reads is not None and not ACTION.fullmatch(reads):
            raise BadDeclaration(f"/{name}: the action {reads!r} is not 1-20 of a-z, 0-9, - and _")
        COMMANDS[name] = Command(name, summary, tuple(args), handler, reads, details, refine)
        return handler

    return register


def find_command(name: str) -> Command:
    """The command called `name`, or an `InvalidCommand` that suggests the closest one."""
    try:
        return COMMANDS[name]
    except KeyError:
        close = difflib.get_close_matches(name, COMMANDS, n=1)
        hint = f" - did you mean /{close[0]}?" if close else "."
        raise InvalidCommand(f"unknown command /{name}{hint} Try /help.") from None
