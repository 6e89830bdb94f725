"""The catalog file (DESIGN.md "Catalog as code"): reading and checking it, and writing it back out.

`read()` turns YAML text into a `CatalogFile` of plain values, checking every key against the format
and every name it refers to (environments, services, users, groups) against the file and the
database. Any problem refuses the whole file: `InvalidCatalogFile` lists each one with its line.
`dump()` writes a `CatalogFile` in the same format; `chatops_site.catalog.sync` compares it with the
database and applies it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

import yaml
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from chatops_site.catalog import channels
from chatops_site.catalog.models import (
    WATCH_KEYS,
    DeployTarget,
    Environment,
    Platform,
    Provider,
    RouteEvent,
    Service,
    action_choices,
    normal_watch,
    target_settings_problems,
    watch_problems,
)
from chatops_site.deploys import freeze_text, freezes
from chatops_site.deploys.models import Freeze
from chatops_site.durations import parse_duration
from chatops_site.webhooks import catalog as webhooks

SLUG = re.compile(r"^[-a-zA-Z0-9_]+$")
REPOSITORY = re.compile(r"^[\w.-]+/[\w.-]+$")
REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
EC2_INSTANCE = re.compile(r"^i-[0-9a-f]{8,17}$")
THRESHOLDS = ("cpu_warn", "cpu_critical", "memory_warn", "memory_critical")


def _default(model, name: str):
    return model._meta.get_field(name).get_default()


# What a service or target row holds when the file leaves a key out: the model's own defaults.
SERVICE_DEFAULTS = {
    name: _default(Service, name)
    for name in (
        "repository",
        "description",
        "team",
        "cost_tag",
        "monthly_budget",
        "aws_region",
        "ec2_instances",
        "ecs_services",
        "eks_clusters",
        "thresholds",
    )
}
TARGET_DEFAULTS = {
    name: _default(DeployTarget, name)
    for name in ("provider", "settings", "default_version", "channel", "timeout", "watch")
}
ENVIRONMENT_DEFAULTS = {name: _default(Environment, name) for name in ("order", "requires_approval", "protected")}
# A freeze's own fields (where it applies, `environments` and `services`, are lists of names beside them).
FREEZE_DEFAULTS = {
    name: _default(Freeze, name)
    for name in ("reason", "schedule", "duration", "start", "end", "time_zone", "rollbacks")
}
FREEZE_KEYS = (
    "name", "environments", "services", "schedule", "duration", "start", "end", "time_zone", "rollbacks", "reason",
)  # fmt: skip


@dataclass
class CatalogFile:
    """What a file says. A section the file leaves out is None: apply leaves that part of the catalog alone."""

    environments: dict[str, dict] | None = None  # name -> row fields
    services: dict[str, dict] | None = None  # name -> row fields
    targets: dict[str, dict[str, dict]] = field(default_factory=dict)  # service -> environment -> row fields
    grants: set[tuple] | None = None  # (subject kind "user"|"group", subject name, action, service|None, env|None)
    identities: dict[tuple[str, str, str], str] | None = None  # (platform, workspace, chat user) -> username
    routes: set[tuple] | None = None  # (sorted events, repository, service|None, channel)
    webhooks: dict[str, dict] | None = None  # url -> row fields (`secret` only when the file gives one)
    freezes: dict[str, dict] | None = None  # name -> fields, with sorted names of its environments and services


class InvalidCatalogFile(Exception):
    """The file is refused as a whole; `problems` holds (line, reason) pairs."""

    def __init__(self, problems: list[tuple[int, str]]):
        self.problems = sorted(problems)
        super().__init__("\n".join(f"line {line}: {reason}" for line, reason in self.problems))


# Reading YAML with line numbers


class _Map(dict):
    line = 0

    def __init__(self):
        super().__init__()
        self.lines: dict[object, int] = {}


class _Seq(list):
    line = 0

    def __init__(self):
        super().__init__()
        self.lines: list[int] = []


class _Loader(yaml.SafeLoader):
    """Safe YAML whose mappings and lists remember the line of every key and item."""


def _construct_map(loader: _Loader, node: yaml.MappingNode) -> _Map:
    loader.flatten_mapping(node)
    result = _Map()
    result.line = node.start_mark.line + 1
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        if not isinstance(key, str | int | float | bool):
            raise yaml.MarkedYAMLError(problem="a key must be a plain word", problem_mark=key_node.start_mark)
        if key in result:  # plain YAML keeps the last one silently; in a reviewed file that hides a mistake
            raise yaml.MarkedYAMLError(problem=f"duplicate key {key!r}", problem_mark=key_node.start_mark)
        result[key] = loader.construct_object(value_node, deep=True)
        result.lines[key] = line
    return result


def _construct_seq(loader: _Loader, node: yaml.SequenceNode) -> _Seq:
    result = _Seq()
    result.line = node.start_mark.line + 1
    for item in node.value:
        result.append(loader.construct_object(item, deep=True))
        result.lines.append(item.start_mark.line + 1)
    return result


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_map)
_Loader.add_constructor("tag:yaml.org,2002:seq", _construct_seq)


# Checking


class _Reader:
    """Walks the parsed file once, collecting values and every problem with its line."""

    def __init__(self, prune: bool):
        self.prune = prune
        self.problems: list[tuple[int, str]] = []

    def problem(self, line: int, reason: str) -> None:
        self.problems.append((line, reason))

    # Generic shapes

    def mapping(self, value, line: int, where: str, allowed: tuple[str, ...] | None, required: tuple[str, ...] = ()):
        """The mapping, with a problem for each key outside `allowed` (None: any key) or missing."""
        if not isinstance(value, _Map):  # every mapping the loader makes
            self.problem(line, f"{where} must be a mapping ({{key: value}})")
            return None
        for key in value:
            if allowed is not None and key not in allowed:
                self.problem(value.lines[key], f"{where}: unknown key '{key}' (known: {', '.join(allowed)})")
        for key in required:
            if key not in value:
                self.problem(value.line, f"{where}: '{key}' is required")
        return value

    def items(self, value, line: int, where: str):
        """(line, item) pairs of a list; a problem when it is not one."""
        if not isinstance(value, _Seq):  # every list the loader makes
            self.problem(line, f"{where} must be a list")
            return []
        return list(zip(value.lines, value, strict=True))

    def text(self, value, line: int, where: str, pattern: re.Pattern | None = None, hint: str = "", limit=200):
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)  # chat ids written without quotes
        if not isinstance(value, str):
            self.problem(line, f"{where} must be text (quote it)")
            return None
        if pattern is not None and not pattern.match(value):
            self.problem(line, f"{where}: '{value}' is not {hint}")
            return None
        if len(value) > limit:
            self.problem(line, f"{where} is longer than {limit} characters")
            return None
        return value

    def names(self, value, line: int, where: str) -> list[str]:
        items = self.items(value, line, where)
        if isinstance(value, list) and not value:
            self.problem(line, f"{where} is empty; leave the key out to mean all of them")
        return [name for item_line, item in items if (name := self.text(item, item_line, where)) is not None]

    def choice(self, value, line: int, where: str, label: str, choices: list[str]):
        if value not in choices:
            self.problem(line, f"{where}: unknown {label} '{value}' (use one of: {', '.join(choices)})")
            return None
        return value

    def flag(self, value, line: int, where: str):
        if not isinstance(value, bool):
            self.problem(line, f"{where} must be true or false")
            return None
        return value

    def percent(self, value, line: int, where: str):
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100:
            self.problem(line, f"{where} must be a percentage between 0 and 100")
            return None
        return value

    # Sections

    def environments(self, value, line: int) -> dict[str, dict]:
        found: dict[str, dict] = {}
        for item_line, item in self.items(value, line, "environments"):
            spec = self.mapping(item, item_line, "environment", ("name", *ENVIRONMENT_DEFAULTS), ("name",))
            if spec is None or "name" not in spec:
                continue
            name = self.text(spec["name"], spec.lines["name"], "environment name", SLUG, "a slug", 50)
            if name is None:
                continue
            if name in found:
                self.problem(spec.lines["name"], f"environment '{name}' is named twice")
            row = dict(ENVIRONMENT_DEFAULTS)
            if "order" in spec:
                order = spec["order"]
                if isinstance(order, bool) or not isinstance(order, int) or order < 0:
                    self.problem(spec.lines["order"], f"environment {name}: order must be a whole number >= 0")
                row["order"] = order
            for key in ("requires_approval", "protected"):
                if key in spec:
                    row[key] = self.flag(spec[key], spec.lines[key], f"environment {name}: {key}")
            found[name] = row
        return found

    def services(self, value, line: int, environments: set[str]) -> tuple[dict, dict]:
        services: dict[str, dict] = {}
        targets: dict[str, dict[str, dict]] = {}
        keys = ("name", "repository", "description", "team", "cost_tag", "budget", "aws", "thresholds", "targets")
        for item_line, item in self.items(value, line, "services"):
            spec = self.mapping(item, item_line, "service", keys, ("name",))
            if spec is None or "name" not in spec:
                continue
            name = self.text(spec["name"], spec.lines["name"], "service name", SLUG, "a slug", 64)
            if name is None:
                continue
            if name in services:
                self.problem(spec.lines["name"], f"service '{name}' is named twice")
            where = f"service {name}"
            row = dict(SERVICE_DEFAULTS)
            if "repository" in spec:
                row["repository"] = self.text(
                    spec["repository"], spec.lines["repository"], f"{where}: repository", REPOSITORY, "owner/name"
                )
            for key, limit in (("description", 300), ("team", 100), ("cost_tag", 200)):
                if key in spec:
                    row[key] = self.text(spec[key], spec.lines[key], f"{where}: {key}", limit=limit)
            if "budget" in spec:
                row["monthly_budget"] = self.budget(spec["budget"], spec.lines["budget"], where)
            if "aws" in spec:
                row.update(self.aws(spec["aws"], spec.lines["aws"], where))
            if "thresholds" in spec:
                row["thresholds"] = self.thresholds(spec["thresholds"], spec.lines["thresholds"], where)
            services[name] = row
            if "targets" in spec:
                targets[name] = self.targets(spec["targets"], spec.lines["targets"], where, environments)
        return services, targets

    def budget(self, value, line: int, where: str):
        try:
            if isinstance(value, bool) or not isinstance(value, int | float | str):
                raise InvalidOperation
            amount = Decimal(str(value)).quantize(Decimal("0.01"))
        except InvalidOperation:
            amount = None
        if amount is None or amount < 0 or amount >= 10**10:
            self.problem(line, f"{where}: budget must be an amount of USD per month, e.g. 1200 or 99.50")
            return None
        return amount

    def aws(self, value, line: int, where: str) -> dict:
        spec = self.mapping(value, line, f"{where}: aws", ("region", "ec2_instances", "ecs", "eks_clusters"))
        if spec is None:
            return {}
        row: dict = {}
        if "region" in spec:
            row["aws_region"] = self.text(
                spec["region"], spec.lines["region"], f"{where}: aws region", REGION, "an AWS region such as us-east-1"
            )
        if "ec2_instances" in spec:
            row["ec2_instances"] = [
                instance
                for item_line, item in self.items(spec["ec2_instances"], spec.lines["ec2_instances"], f"{where}: ec2")
                if (instance := self.text(item, item_line, f"{where}: EC2 instance", EC2_INSTANCE, "an instance id"))
            ]
        if "ecs" in spec:
            row["ecs_services"] = []
            for item_line, item in self.items(spec["ecs"], spec.lines["ecs"], f"{where}: ecs"):
                pair = self.mapping(item, item_line, f"{where}: ecs", ("cluster", "service"), ("cluster", "service"))
                if pair is not None and "cluster" in pair and "service" in pair:
                    row["ecs_services"].append(
                        {
                            "cluster": self.text(pair["cluster"], pair.lines["cluster"], f"{where}: ecs cluster"),
                            "service": self.text(pair["service"], pair.lines["service"], f"{where}: ecs service"),
                        }
                    )
        if "eks_clusters" in spec:
            row["eks_clusters"] = [
                cluster
                for item_line, item in self.items(spec["eks_clusters"], spec.lines["eks_clusters"], f"{where}: eks")
                if (cluster := self.text(item, item_line, f"{where}: EKS cluster"))
            ]
        return row

    def thresholds(self, value, line: int, where: str) -> dict:
        spec = self.mapping(value, line, f"{where}: thresholds", THRESHOLDS)
        if spec is None:
            return {}
        levels = {key: self.percent(spec[key], spec.lines[key], f"{where}: {key}") for key in THRESHOLDS if key in spec}
        for kind in ("cpu", "memory"):
            warn, critical = levels.get(f"{kind}_warn"), levels.get(f"{kind}_critical")
            if warn is not None and critical is not None and warn > critical:
                self.problem(spec.lines[f"{kind}_warn"], f"{where}: {kind}_warn is above {kind}_critical")
        return levels

    def targets(self, value, line: int, where: str, environments: set[str]) -> dict[str, dict]:
        spec = self.mapping(value, line, f"{where}: targets", None)
        found: dict[str, dict] = {}
        for env_name, target in (spec or {}).items():
            env_line = spec.lines[env_name]
            if env_name not in environments:
                self.problem(env_line, f"{where}: unknown environment '{env_name}' (known: {_known(environments)})")
                continue
            at = f"{where} in {env_name}"
            keys = ("provider", "settings", "default_version", "channel", "timeout", "watch")
            target = self.mapping(target if target is not None else _Map(), env_line, at, keys)
            if target is None:
                continue
            row = dict(TARGET_DEFAULTS)
            row["settings"] = dict(row["settings"])
            if "provider" in target:
                row["provider"] = self.choice(
                    target["provider"], target.lines["provider"], at, "provider", Provider.values
                )
            if "settings" in target:
                settings = self.mapping(target["settings"], target.lines["settings"], f"{at}: settings", None)
                row["settings"] = _plain(settings) if settings is not None else None
                for key, problem in target_settings_problems(row["settings"] or {}).items():
                    self.problem(settings.lines[key], f"{at}: settings: {problem}")
            if "default_version" in target:
                row["default_version"] = self.text(
                    target["default_version"], target.lines["default_version"], f"{at}: default_version"
                )
            if "channel" in target:
                row["channel"] = self.channel(target["channel"], target.lines["channel"], at)
            if "timeout" in target:
                row["timeout"] = self.duration(target["timeout"], target.lines["timeout"], at)
            if "watch" in target:
                row["watch"] = self.watch(target["watch"], target.lines["watch"], at)
            found[env_name] = row
        return found

    def watch(self, value, line: int, where: str):
        """`{minutes: 15, alarms: [web-5xx], auto_rollback: false}`, checked by the rule the admin uses."""
        plain = _plain(value)
        problems = watch_problems(plain)
        for key, problem in problems.items():
            self.problem(value.lines.get(key, line) if isinstance(value, _Map) else line, f"{where}: {problem}")
        return None if problems else normal_watch(plain or {})

    def channel(self, value, line: int, where: str):
        channel = self.text(value, line, f"{where}: channel", limit=300)
        if channel is None:
            return None
        try:
            channels.parse(channel)
        except channels.BadChannel as exc:
            self.problem(line, f"{where}: bad channel '{channel}' ({exc})")
            return None
        return channel

    def duration(self, value, line: int, where: str):
        try:
            timeout = parse_duration(value)
        except ValueError as exc:
            self.problem(line, f"{where}: timeout {exc}")
            return None
        if timeout <= timedelta(0):
            self.problem(line, f"{where}: timeout must be longer than zero")
            return None
        return timeout

    def grants(self, value, line: int, services: set[str], environments: set[str]) -> set[tuple]:
        users = set(get_user_model().objects.values_list("username", flat=True))
        groups = set(Group.objects.values_list("name", flat=True))
        found: set[tuple] = set()
        keys = ("user", "group", "actions", "services", "environments")
        known_actions = [action for action, _ in action_choices()]  # the built-in ones and the plugins'
        for item_line, item in self.items(value, line, "grants"):
            spec = self.mapping(item, item_line, "grant", keys, ("actions",))
            if spec is None:
                continue
            if ("user" in spec) == ("group" in spec):
                self.problem(item_line, "grant: name either a user or a group")
                continue
            kind = "user" if "user" in spec else "group"
            subject = self.text(spec[kind], spec.lines[kind], f"grant {kind}")
            if subject is not None and subject not in (users if kind == "user" else groups):
                self.problem(spec.lines[kind], f"grant: there is no {kind} '{subject}'")
            actions = [
                self.choice(action, spec.lines["actions"], "grant", "action", known_actions)
                for action in (
                    self.names(spec["actions"], spec.lines["actions"], "grant actions") if "actions" in spec else []
                )
            ]
            scope_services = self.references(spec, "services", "service", services)
            scope_environments = self.references(spec, "environments", "environment", environments)
            for action in actions:
                for service in scope_services:
                    for environment in scope_environments:
                        found.add((kind, subject, action, service, environment))
        return found

    def references(self, spec: _Map, key: str, label: str, known: set[str]) -> list:
        """Names of catalog rows a grant or route points at; [None] (all of them) when the key is absent."""
        if key not in spec:
            return [None]
        names = self.names(spec[key], spec.lines[key], f"grant {key}")
        for name in names:
            if name not in known:
                self.problem(spec.lines[key], f"grant: unknown {label} '{name}' (known: {_known(known)})")
        return names

    def identities(self, value, line: int) -> dict[tuple[str, str, str], str]:
        users = set(get_user_model().objects.values_list("username", flat=True))
        found: dict[tuple[str, str, str], str] = {}
        keys = ("user", "platform", "workspace", "chat_user")
        for item_line, item in self.items(value, line, "identities"):
            spec = self.mapping(item, item_line, "identity", keys, ("user", "platform", "chat_user"))
            if spec is None or not {"user", "platform", "chat_user"} <= spec.keys():
                continue
            user = self.text(spec["user"], spec.lines["user"], "identity user")
            if user is not None and user not in users:
                self.problem(spec.lines["user"], f"identity: there is no user '{user}'")
            platform = self.choice(spec["platform"], spec.lines["platform"], "identity", "platform", Platform.values)
            workspace = self.text(
                spec.get("workspace", ""), spec.lines.get("workspace", item_line), "workspace", limit=100
            )
            chat_user = self.text(spec["chat_user"], spec.lines["chat_user"], "identity chat_user", limit=100)
            key = (platform, workspace, chat_user)
            if key in found:
                self.problem(item_line, f"identity {platform}:{workspace}/{chat_user} is named twice")
            found[key] = user
        return found

    def routes(self, value, line: int, services: set[str]) -> set[tuple]:
        found: set[tuple] = set()
        keys = ("events", "repository", "service", "channel")
        for item_line, item in self.items(value, line, "routes"):
            spec = self.mapping(item, item_line, "route", keys, ("events", "channel"))
            if spec is None or not {"events", "channel"} <= spec.keys():
                continue
            events = [
                self.choice(event, spec.lines["events"], "route", "event", RouteEvent.values)
                for event in self.names(spec["events"], spec.lines["events"], "route events")
            ]
            repository = ""
            if "repository" in spec:
                repository = self.text(
                    spec["repository"], spec.lines["repository"], "route repository", REPOSITORY, "owner/name"
                )
            service = None
            if "service" in spec:
                service = self.text(spec["service"], spec.lines["service"], "route service")
                if service is not None and service not in services:
                    self.problem(
                        spec.lines["service"], f"route: unknown service '{service}' (known: {_known(services)})"
                    )
            channel = self.channel(spec["channel"], spec.lines["channel"], "route")
            found.add((tuple(sorted(set(events), key=str)), repository, service, channel))
        return found

    def freezes(self, value, line: int, services: set[str], environments: set[str]) -> dict[str, dict]:
        """Each freeze's fields, checked by `freezes.problems` (the admin's and the API's rules too)."""
        found: dict[str, dict] = {}
        for item_line, item in self.items(value, line, "freezes"):
            spec = self.mapping(item, item_line, "freeze", FREEZE_KEYS, ("name", "environments"))
            if spec is None or "name" not in spec:
                continue
            name = self.text(spec["name"], spec.lines["name"], "freeze name", SLUG, "a slug", 64)
            if name is None:
                continue
            if name in found:
                self.problem(spec.lines["name"], f"freeze '{name}' is named twice")
            where = f"freeze {name}"
            row: dict = {"environments": [], "services": [], **FREEZE_DEFAULTS}
            for key, label, known in (("environments", "environment", environments), ("services", "service", services)):
                if key in spec:
                    names = self.names(spec[key], spec.lines[key], f"{where}: {key}")
                    for unknown in sorted(set(names) - known):
                        self.problem(spec.lines[key], f"{where}: unknown {label} '{unknown}' (known: {_known(known)})")
                    row[key] = sorted(set(names))
            for key, limit in (("reason", 500), ("schedule", 100), ("time_zone", 64)):
                if key in spec:
                    row[key] = self.text(spec[key], spec.lines[key], f"{where}: {key}", limit=limit)
            if "rollbacks" in spec:
                row["rollbacks"] = self.flag(spec["rollbacks"], spec.lines["rollbacks"], f"{where}: rollbacks")
            if "duration" in spec:
                row["duration"] = self.span(spec["duration"], spec.lines["duration"], where)
            for key in ("start", "end"):
                if key in spec:
                    row[key] = self.moment(spec[key], spec.lines[key], f"{where}: {key}", row["time_zone"])
            # The rules themselves, on the fields that read well (a field that did not says so already).
            unread = {key for key in FREEZE_DEFAULTS if key in spec and row[key] is None}
            freeze = Freeze(**{key: row[key] for key in FREEZE_DEFAULTS if key not in unread})
            for key, reason in freezes.problems(freeze).items():
                if not unread or (key == "time_zone" and key not in unread):
                    # A schedule's missing duration is the schedule's line; anything else missing, the freeze's.
                    at = spec.lines.get(key, spec.lines.get("schedule", item_line))
                    self.problem(at, f"{where}: {key}: {reason}")
            found[name] = row
        return found

    def span(self, value, line: int, where: str):
        try:
            return freeze_text.span(value)
        except ValueError as exc:
            self.problem(line, f"{where}: duration {exc}")
            return None

    def moment(self, value, line: int, where: str, zone: str | None):
        """A one-off window's start or end: a wall time of the freeze's zone, or a time with an offset."""
        if isinstance(value, datetime):  # YAML reads `2026-12-20 00:00:00` unquoted as a time of its own
            value = value.isoformat(sep=" ")
        if not isinstance(value, str):
            self.problem(line, f"{where} must be a time such as {freeze_text.EXAMPLE} (quote it)")
            return None
        try:
            return freeze_text.moment(value, freeze_text.zone_or_utc(zone))
        except ValueError as exc:
            self.problem(line, f"{where}: {exc}")
            return None

    def known(self, section: dict | None, model) -> set[str]:
        """Names a reference may use: the file's own; and the database's, unless a prune removes them."""
        names = set(section or ())
        if section is None or not self.prune:
            names |= set(model.objects.values_list("name", flat=True))
        return names


def _plain(value):
    """Drop the line bookkeeping: plain dicts and lists, as the database stores them."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def _known(names: set[str]) -> str:
    return ", ".join(sorted(names)) or "none"


SECTIONS = ("environments", "services", "grants", "identities", "routes", "webhooks", "freezes")


def read(text: str, prune: bool = False) -> CatalogFile:
    """Parse and check a catalog file; raise `InvalidCatalogFile` with every problem found."""
    try:
        document = yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        raise InvalidCatalogFile([(line, f"not valid YAML: {exc.problem}")]) from None
    except yaml.YAMLError as exc:
        raise InvalidCatalogFile([(1, f"not valid YAML: {exc}")]) from None
    reader = _Reader(prune)
    if document is None:
        document = _Map()
    top = reader.mapping(document, 1, "the file", SECTIONS)
    if top is None:
        raise InvalidCatalogFile(reader.problems)
    catalog = CatalogFile()
    if "environments" in top:
        catalog.environments = reader.environments(top["environments"], top.lines["environments"])
    environments = reader.known(catalog.environments, Environment)
    if "services" in top:
        catalog.services, catalog.targets = reader.services(top["services"], top.lines["services"], environments)
    services = reader.known(catalog.services, Service)
    if "grants" in top:
        catalog.grants = reader.grants(top["grants"], top.lines["grants"], services, environments)
    if "identities" in top:
        catalog.identities = reader.identities(top["identities"], top.lines["identities"])
    if "routes" in top:
        catalog.routes = reader.routes(top["routes"], top.lines["routes"], services)
    if "webhooks" in top:
        catalog.webhooks = webhooks.read(reader, top["webhooks"], top.lines["webhooks"])
    if "freezes" in top:
        catalog.freezes = reader.freezes(top["freezes"], top.lines["freezes"], services, environments)
    if reader.problems:
        raise InvalidCatalogFile(reader.problems)
    return catalog


# Writing


class _Flow(dict):
    """A mapping written on one line, as DESIGN.md writes environments, grants and routes."""


class _Quoted(str):
    """Text written in double quotes, as DESIGN.md writes cron schedules and times."""

    __slots__ = ()


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(
    _Flow, lambda dumper, data: dumper.represent_mapping("tag:yaml.org,2002:map", data, flow_style=True)
)
_Dumper.add_representer(
    _Quoted, lambda dumper, data: dumper.represent_scalar("tag:yaml.org,2002:str", str(data), style='"')
)

HEADER = "# ChatOps catalog (DESIGN.md 'Catalog as code'); apply with `manage.py catalog apply FILE`.\n"


def dump(catalog: CatalogFile) -> str:
    """The file for a catalog, leaving out what equals the defaults; `read(dump(c))` gives `c` back."""
    document: dict = {}
    if catalog.environments is not None:
        document["environments"] = [
            _Flow(name=name, order=row["order"], **_non_default(row, ENVIRONMENT_DEFAULTS, ("order",)))
            for name, row in catalog.environments.items()
        ]
    if catalog.services is not None:
        document["services"] = [
            _service_entry(name, row, catalog.targets.get(name, {})) for name, row in catalog.services.items()
        ]
    if catalog.grants is not None:
        document["grants"] = _grant_entries(catalog.grants)
    if catalog.identities is not None:
        document["identities"] = [
            _Flow(user=user, platform=platform, **({"workspace": workspace} if workspace else {}), chat_user=chat)
            for (platform, workspace, chat), user in sorted(catalog.identities.items(), key=lambda kv: (kv[1], kv[0]))
        ]
    if catalog.routes is not None:
        document["routes"] = [
            _Flow(
                events=list(events),
                **({"repository": repository} if repository else {}),
                **({"service": service} if service else {}),
                channel=channel,
            )
            for events, repository, service, channel in sorted(catalog.routes, key=_route_order)
        ]
    if catalog.webhooks is not None:
        document["webhooks"] = [_Flow(entry) for entry in webhooks.entries(catalog.webhooks)]
    if catalog.freezes is not None:
        document["freezes"] = [_freeze_entry(name, row) for name, row in catalog.freezes.items()]
    text = yaml.dump(document, Dumper=_Dumper, sort_keys=False, default_flow_style=None, width=1000, allow_unicode=True)
    return HEADER + text


def _non_default(row: dict, defaults: dict, skip: tuple[str, ...] = ()) -> dict:
    return {key: value for key, value in row.items() if key not in skip and value != defaults[key]}


def _service_entry(name: str, row: dict, targets: dict[str, dict]) -> dict:
    entry: dict = {"name": name}
    for key in ("repository", "description", "team", "cost_tag"):
        if row[key]:
            entry[key] = row[key]
    if row["monthly_budget"] is not None:
        budget = row["monthly_budget"]
        entry["budget"] = int(budget) if budget == budget.to_integral_value() else float(budget)
    aws = {
        "region": row["aws_region"],
        "ec2_instances": row["ec2_instances"],
        "ecs": row["ecs_services"],
        "eks_clusters": row["eks_clusters"],
    }
    if any(aws.values()):
        entry["aws"] = {key: value for key, value in aws.items() if value}
        if "ecs" in entry["aws"]:
            entry["aws"]["ecs"] = [_Flow(cluster=p["cluster"], service=p["service"]) for p in entry["aws"]["ecs"]]
    if row["thresholds"]:
        # In a fixed order: PostgreSQL's jsonb does not keep the one they were written in.
        entry["thresholds"] = _Flow((key, row["thresholds"][key]) for key in THRESHOLDS if key in row["thresholds"])
    if targets:
        entry["targets"] = {
            env: _Flow(provider=target["provider"], **_target_details(target)) for env, target in targets.items()
        }
    return entry


def _target_details(target: dict) -> dict:
    details = _non_default(target, TARGET_DEFAULTS, ("provider",))
    if "settings" in details:
        details["settings"] = _Flow(sorted(details["settings"].items()))
    if "timeout" in details:
        details["timeout"] = _duration_text(details["timeout"])
    if "watch" in details:  # in a fixed order, as the thresholds
        details["watch"] = _Flow((key, details["watch"][key]) for key in WATCH_KEYS if key in details["watch"])
    return details


def _duration_text(delta: timedelta) -> str:
    """`1h30m`, `45s`, `2d`: the form `parse_duration` reads back."""
    seconds = int(delta.total_seconds())
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        amount, seconds = divmod(seconds, size)
        if amount:
            parts.append(f"{amount}{unit}")
    return "".join(parts) or "0s"


def _grant_entries(grants: set[tuple]) -> list[dict]:
    """Fold grant rows into as few entries as read back to the same rows.

    Each entry stands for all its actions x services x environments, so rows are merged only where
    that product stays exact: actions per (subject, service, environment), then environments per
    (subject, service, actions), then services per (subject, actions, environments).
    """
    actions: dict[tuple, set] = {}
    for kind, subject, action, service, environment in grants:
        actions.setdefault((kind, subject, service, environment), set()).add(action)
    environments: dict[tuple, set] = {}
    for (kind, subject, service, environment), acts in actions.items():
        # "All environments" (None) cannot share an entry with named ones.
        key = (kind, subject, service, tuple(sorted(acts)), environment is None)
        environments.setdefault(key, set()).add(environment)
    services: dict[tuple, set] = {}
    for (kind, subject, service, acts, _), envs in environments.items():
        key = (kind, subject, acts, tuple(sorted(envs, key=str)), service is None)
        services.setdefault(key, set()).add(service)
    entries: list[dict] = []
    for (kind, subject, acts, envs, _), names in sorted(services.items(), key=lambda kv: repr(kv[0])):
        entry = _Flow({kind: subject, "actions": list(acts)})
        if None not in names:
            entry["services"] = sorted(names)
        if None not in envs:
            entry["environments"] = list(envs)
        entries.append(entry)
    return entries


def _freeze_entry(name: str, row: dict) -> dict:
    """A freeze in DESIGN.md's order; `time_zone` always, since the default is each installation's own."""
    entry: dict = {"name": name, "environments": list(row["environments"])}
    if row["services"]:
        entry["services"] = list(row["services"])
    if row["schedule"]:
        entry["schedule"] = _Quoted(row["schedule"])
    if row["duration"] is not None:
        entry["duration"] = freeze_text.span_text(row["duration"])
    for key in ("start", "end"):
        if row[key] is not None:
            entry[key] = _Quoted(freeze_text.wall_text(row[key], row["time_zone"]))
    entry["time_zone"] = row["time_zone"]
    if row["rollbacks"]:
        entry["rollbacks"] = True
    if row["reason"]:
        entry["reason"] = row["reason"]
    return entry


def _route_order(route: tuple) -> tuple:
    events, repository, service, channel = route
    return (channel, repository, service or "", events)


def service_problems(name: str, fields: dict) -> list[str]:
    """What the file's rules find wrong in a service's AWS resources and thresholds (the admin checks with it),
    so the admin and the file accept the same values and an export always reads back."""
    aws = {
        "region": fields.get("aws_region"),
        "ec2_instances": fields.get("ec2_instances"),
        "ecs": fields.get("ecs_services"),
        "eks_clusters": fields.get("eks_clusters"),
    }
    entry = {"name": name, "aws": {key: value for key, value in aws.items() if value}}
    if fields.get("thresholds"):
        entry["thresholds"] = fields["thresholds"]
    try:
        read(yaml.safe_dump({"services": [entry]}))
    except InvalidCatalogFile as exc:
        return [reason for _, reason in exc.problems]
    return []
