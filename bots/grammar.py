"""Command grammar: each command declares its arguments once; parsing and help both come from that."""

from __future__ import annotations

import difflib
import shlex
from dataclasses import dataclass

from chatops_site import sql
from chatops_site.catalog.models import Environment, Service


class InvalidCommand(Exception):
    """The text does not fit the command; the message says what to type instead."""


@dataclass(frozen=True)
class Arg:
    name: str
    help: str
    kind: str = "word"  # word | service | environment | deployment | rest | option (`--name <text...>`, last)
    required: bool = True
    max_length: int = 200  # what the database column behind it holds

    @property
    def usage(self) -> str:
        if self.kind == OPTION:
            return f"[--{self.name} <{self.help.split(',')[0].split()[0]}...>]"
        shown = f"<{self.name}>" + ("..." if self.kind == "rest" else "")
        return shown if self.required else f"[{shown}]"


# An argument typed as `--name text...` at the end of the line, whatever comes before it.
OPTION = "option"


SERVICE = Arg("service", "service name, e.g. web-app", kind="service")
ENVIRONMENT = Arg("env", "environment name, e.g. staging", kind="environment")
DEPLOYMENT = Arg("deployment", "deployment number, e.g. 12 or #12", kind="deployment")


def optional(arg: Arg) -> Arg:
    return Arg(arg.name, arg.help, arg.kind, required=False)


def tokenize(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError as exc:  # an unbalanced quote, say
        raise InvalidCommand(f"could not read the arguments ({exc})") from None


def parse(args: tuple[Arg, ...], text: str) -> dict[str, str]:
    """Split the text into the declared arguments, as strings; `rest` takes whatever remains."""
    tokens = tokenize(text)
    values: dict[str, str] = {}
    for arg in (a for a in args if a.kind == OPTION):
        flag = f"--{arg.name}"
        if flag in tokens:
            at = tokens.index(flag)
            tokens, value = tokens[:at], " ".join(tokens[at + 1 :])
            if not value:
                raise InvalidCommand(f"{flag} needs a {arg.help}")
            values[arg.name] = value
            _check_length(arg, value)
    for arg in (a for a in args if a.kind != OPTION):
        if not tokens:
            if arg.required:
                raise InvalidCommand(f"missing {arg.usage}")
            continue
        if arg.kind == "rest":
            values[arg.name], tokens = " ".join(tokens), []
        else:
            values[arg.name] = tokens.pop(0)
        _check_length(arg, values[arg.name])
    if tokens:
        raise InvalidCommand(f"unexpected '{tokens[0][:50]}'")
    return values


def named(args: tuple[Arg, ...], options: dict[str, str]) -> dict[str, str]:
    """The declared arguments from values typed into named fields (Discord's options), as `parse` returns them.

    Names, not positions, say which argument a value is for, so any optional argument may be given alone.
    A blank field counts as left out.
    """
    declared = {arg.name for arg in args}
    for name in options:
        if name not in declared:
            raise InvalidCommand(f"unexpected option '{name[:50]}'")
    values: dict[str, str] = {}
    for arg in args:
        value = options.get(arg.name, "").strip()
        if not value:
            if arg.required:
                raise InvalidCommand(f"missing {arg.usage}")
            continue
        _check_length(arg, value)
        values[arg.name] = value
    return values


def _check_length(arg: Arg, value: str) -> None:
    if len(value) > arg.max_length:
        raise InvalidCommand(f"<{arg.name}> is longer than {arg.max_length} characters")


def resolve(args: tuple[Arg, ...], values: dict[str, str]) -> dict:
    """Turn names into catalog rows and numbers into ints, with a "did you mean" for typos."""
    resolved: dict = {}
    for arg in args:
        if arg.name not in values:
            resolved[arg.name] = None
            continue
        raw = values[arg.name]
        if arg.kind == "service":
            resolved[arg.name] = _lookup(Service, "service", raw)
        elif arg.kind == "environment":
            resolved[arg.name] = _lookup(Environment, "environment", raw)
        elif arg.kind == "deployment":
            number = raw.removeprefix("#")
            if not number.isascii() or not number.isdigit() or len(number) > 18:
                raise InvalidCommand(f"'{raw}' is not a deployment number (e.g. 12 or #12)")
            resolved[arg.name] = int(number)
        else:
            resolved[arg.name] = raw
    return resolved


def _lookup(model, label: str, name: str):
    found = sql.get(model, name=name.lower())
    if found is not None:
        return found
    names = list(model.objects.values_list("name", flat=True))
    close = difflib.get_close_matches(name.lower(), names, n=1, cutoff=0.6)
    if close:
        raise InvalidCommand(f"unknown {label} '{name}' - did you mean '{close[0]}'?")
    known = ", ".join(sorted(names)) or "none yet"
    raise InvalidCommand(f"unknown {label} '{name}' (known: {known})")
