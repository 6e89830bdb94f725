"""Command plugins: installed packages that add commands through the entry-point group `chatops.commands`.

A plugin's module declares its commands with the same `@command(...)` as the built-in ones, so importing
it is loading it: from then on its commands have grammar, `/help`, RBAC, the audit row, rate limits, the
Slack manifest and Discord's registration like any other. A plugin that cannot be loaded (it fails to
import, or declares a name already taken) is skipped whole, logged with its name and reason, and named
by `manage.py check`; the product starts without it.
https://packaging.python.org/en/latest/specifications/entry-points/
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from django.core.checks import CheckMessage, register
from django.core.checks import Warning as CheckWarning

from bots.registry import COMMANDS, BadDeclaration
from chatops_site.catalog.models import declare_action

GROUP = "chatops.commands"

log = logging.getLogger("chatops.plugins")


@dataclass(frozen=True)
class Failure:
    """A plugin that was skipped, and why, as the start-up log and `manage.py check` name it."""

    name: str  # the entry point's name
    module: str  # what it points at ("package.module" or "package.module:attribute")
    reason: str

    def __str__(self) -> str:
        return f"command plugin '{self.name}' ({self.module}) was not loaded: {self.reason}"


# The plugins skipped when this process loaded them, for the system check.
FAILURES: list[Failure] = []


def load() -> None:
    """Load every plugin of the group, after the built-in commands (so none can replace one), in name order."""
    for entry_point in sorted(entry_points(group=GROUP), key=lambda ep: (ep.name, ep.value)):
        _load(entry_point)


def _load(entry_point: EntryPoint) -> None:
    """Import one plugin; when that fails, the registry is left as it was, with none of the plugin's commands."""
    before = dict(COMMANDS)
    try:
        entry_point.load()
    except Exception as exc:  # whatever a plugin's import raises, the product starts without it
        COMMANDS.clear()
        COMMANDS.update(before)
        reason = str(exc) if isinstance(exc, BadDeclaration) else f"{exc.__class__.__name__}: {exc}"
        failure = Failure(entry_point.name, entry_point.value, reason)
        FAILURES.append(failure)
        # A refused declaration says all there is to say; an import that broke needs its traceback.
        log.error("%s", failure, exc_info=not isinstance(exc, BadDeclaration))
        return
    added = [name for name in COMMANDS if name not in before]
    for name in added:
        command = COMMANDS[name] = dataclasses.replace(COMMANDS[name], plugin=entry_point.name)
        if command.reads:
            declare_action(command.reads, name)
    if added:  # debug: every `manage.py` command loads the plugins, and a quiet success is the rule
        log.debug("command plugin '%s' (%s) adds %s", entry_point.name, entry_point.value, _names(added))
    else:
        log.warning("command plugin '%s' (%s) declares no command", entry_point.name, entry_point.value)


def _names(names: list[str]) -> str:
    return ", ".join(f"/{name}" for name in names)


@register()
def skipped_plugins(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    """`manage.py check` (and so `make prod`, which stops on warnings) names every plugin that was skipped."""
    return [
        CheckWarning(
            str(failure),
            hint="Fix or uninstall the package that provides it; the other commands work without it.",
            id="bots.W001",
        )
        for failure in FAILURES
    ]
