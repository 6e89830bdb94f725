"""Catalog as code: what a catalog file would change in the database, and applying it all at once.

`plan()` compares a checked `CatalogFile` with the rows and lists each change in words, with the
function that makes it; `apply()` runs them in one transaction. Rows are matched by their names
(environments, services, targets, chat identities) or, for grants and routes, by everything they
say. `--prune` removes what the file no longer names, but never history: a target with deployments
or locks stays (and with it its service and environment), and so does a protected environment.
Freezes are matched by name; changing or removing one wakes the targets it held (`freeze_edits`).
`snapshot()` reads the database back as a `CatalogFile` for `catalog export`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import models, transaction
from django.db.models import Q

from chatops_site.catalog.catalog_file import (
    ENVIRONMENT_DEFAULTS,
    FREEZE_DEFAULTS,
    SERVICE_DEFAULTS,
    TARGET_DEFAULTS,
    CatalogFile,
    _duration_text,
)
from chatops_site.catalog.models import ChannelRoute, ChatIdentity, DeployTarget, Environment, Grant, Service
from chatops_site.deploys import freeze_edits, freeze_text
from chatops_site.deploys.models import Freeze
from chatops_site.webhooks import catalog as webhooks


@dataclass
class Change:
    text: str  # "+ create service web-app", "~ update ...", "- delete ..."
    make: Callable[[], object] = field(repr=False)


@dataclass
class Plan:
    changes: list[Change] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # what a prune leaves, and why

    def add(self, sign: str, text: str, make: Callable[[], object]) -> None:
        self.changes.append(Change(f"{sign} {text}", make))


def apply(plan: Plan) -> None:
    """Make every change of the plan, or none of them."""
    with transaction.atomic():
        for change in plan.changes:
            change.make()


def plan(catalog: CatalogFile, prune: bool = False) -> Plan:
    """The changes that make the database say what the file says."""
    result = Plan()
    if catalog.environments is not None:
        _rows(result, "environment", Environment, catalog.environments)
    if catalog.services is not None:
        _rows(result, "service", Service, catalog.services)
        for service, targets in catalog.targets.items():
            _targets(result, service, targets)
    if catalog.identities is not None:
        _identities(result, catalog.identities)
    if catalog.grants is not None:
        _facts(result, "grant", _grant_rows(), catalog.grants, _describe_grant, _create_grant)
    if catalog.routes is not None:
        _facts(result, "route", _route_rows(), catalog.routes, _describe_route, _create_route)
    if catalog.webhooks is not None:
        webhooks.plan(result.add, catalog.webhooks, prune)
    if catalog.freezes is not None:
        _freezes(result, catalog.freezes)
    if prune:
        _prune(result, catalog)
    return result


# Rows matched by name


def _rows(result: Plan, label: str, model, wanted: dict[str, dict]) -> None:
    current = {row.name: row for row in model.objects.all()}
    for name, fields in wanted.items():
        row = current.get(name)
        if row is None:
            result.add("+", f"create {label} {name}", partial(model.objects.create, name=name, **fields))
        elif differences := _differences(row, fields):
            result.add("~", f"update {label} {name}: {differences}", partial(_update, row, fields))


def _targets(result: Plan, service: str, wanted: dict[str, dict]) -> None:
    current = {
        t.environment.name: t for t in DeployTarget.objects.filter(service__name=service).select_related("environment")
    }
    for environment, fields in wanted.items():
        target = current.get(environment)
        if target is None:
            result.add(
                "+", f"create target {service}/{environment}", partial(_create_target, service, environment, fields)
            )
        elif differences := _differences(target, fields):
            result.add("~", f"update target {service}/{environment}: {differences}", partial(_update, target, fields))


def _create_target(service: str, environment: str, fields: dict) -> None:
    DeployTarget.objects.create(
        service=Service.objects.get(name=service), environment=Environment.objects.get(name=environment), **fields
    )


def _identities(result: Plan, wanted: dict[tuple[str, str, str], str]) -> None:
    current = {(i.platform, i.workspace, i.chat_user_id): i for i in ChatIdentity.objects.select_related("user")}
    for key, username in wanted.items():
        platform, workspace, chat_user = key
        identity = current.get(key)
        name = f"identity {platform}:{workspace}/{chat_user}"
        if identity is None:
            result.add("+", f"create {name} -> {username}", partial(_create_identity, key, username))
        elif identity.user.get_username() != username:
            change = f"update {name}: user {identity.user.get_username()} -> {username}"
            result.add("~", change, partial(_relink, identity, username))


def _create_identity(key: tuple[str, str, str], username: str) -> None:
    platform, workspace, chat_user = key
    user = get_user_model().objects.get_by_natural_key(username)
    ChatIdentity.objects.create(platform=platform, workspace=workspace, chat_user_id=chat_user, user=user)


def _relink(identity: ChatIdentity, username: str) -> None:
    identity.user = get_user_model().objects.get_by_natural_key(username)
    identity.save(update_fields=["user"])


def _differences(row: models.Model, fields: dict) -> str:
    changed = [
        f"{name} {_show(getattr(row, name))} -> {_show(value)}"
        for name, value in fields.items()
        if getattr(row, name) != value
    ]
    return ", ".join(changed)


def _show(value) -> str:
    if isinstance(value, timedelta):
        return _duration_text(value)
    if value in ("", None):
        return "(blank)"
    return str(value) if not isinstance(value, str) else repr(value)


def _update(row: models.Model, fields: dict) -> None:
    for name, value in fields.items():
        setattr(row, name, value)
    row.save(update_fields=list(fields))


# Rows matched by all they say (grants, routes)


def _facts(result: Plan, label: str, current: dict[tuple, list[int]], wanted: set, describe, create) -> None:
    for fact in sorted(wanted - current.keys(), key=repr):
        result.add("+", f"create {label}: {describe(fact)}", partial(create, fact))


def _grant_rows() -> dict[tuple, list[int]]:
    rows: dict[tuple, list[int]] = {}
    for grant in Grant.objects.select_related("user", "group", "service", "environment"):
        if grant.user is not None:
            kind, subject = "user", grant.user.get_username()
        elif grant.group is not None:
            kind, subject = "group", grant.group.name
        else:  # never: a check constraint makes every grant name a user or a group
            continue
        service = grant.service.name if grant.service is not None else None
        environment = grant.environment.name if grant.environment is not None else None
        rows.setdefault((kind, subject, grant.action, service, environment), []).append(grant.pk)
    return rows


def _describe_grant(fact: tuple) -> str:
    kind, subject, action, service, environment = fact
    who = subject if kind == "user" else f"group {subject}"
    return f"{who} may {action} {service or 'every service'} in {environment or 'every environment'}"


def _create_grant(fact: tuple) -> None:
    kind, subject, action, service, environment = fact
    Grant.objects.create(
        user=get_user_model().objects.get_by_natural_key(subject) if kind == "user" else None,
        group=Group.objects.get(name=subject) if kind == "group" else None,
        action=action,
        service=Service.objects.get(name=service) if service else None,
        environment=Environment.objects.get(name=environment) if environment else None,
    )


def _route_rows() -> dict[tuple, list[int]]:
    rows: dict[tuple, list[int]] = {}
    for route in ChannelRoute.objects.select_related("service"):
        service = route.service.name if route.service is not None else None
        key = (tuple(sorted(set(route.events), key=str)), route.repository, service, route.channel)
        rows.setdefault(key, []).append(route.pk)
    return rows


def _describe_route(fact: tuple) -> str:
    events, repository, service, channel = fact
    source = repository or service or "everything"
    return f"{', '.join(events)} of {source} -> {channel}"


def _create_route(fact: tuple) -> None:
    events, repository, service, channel = fact
    ChannelRoute.objects.create(
        events=list(events),
        repository=repository,
        service=Service.objects.get(name=service) if service else None,
        channel=channel,
    )


# Freezes, matched by name


def _freezes(result: Plan, wanted: dict[str, dict]) -> None:
    current = {freeze.name: freeze for freeze in Freeze.objects.prefetch_related(*freeze_edits.PLACES)}
    for name, fields in wanted.items():
        freeze = current.get(name)
        if freeze is None:
            result.add("+", f"create freeze {name}", partial(_save_freeze, None, name, fields))
        elif differences := _freeze_differences(_freeze_fields(freeze), fields):
            result.add("~", f"update freeze {name}: {differences}", partial(_save_freeze, freeze, name, fields))


def _freeze_fields(freeze: Freeze) -> dict:
    """A freeze as the file says it: its fields, and the sorted names of where it applies."""
    return {
        **{place: sorted(row.name for row in getattr(freeze, place).all()) for place in freeze_edits.PLACES},
        **_fields(freeze, FREEZE_DEFAULTS),
    }


def _freeze_differences(current: dict, wanted: dict) -> str:
    def show(key: str, fields: dict) -> str:
        value = fields[key]
        if key in ("start", "end") and value is not None:
            return repr(freeze_text.wall_text(value, fields["time_zone"]))
        if key == "duration" and value is not None:
            return freeze_text.span_text(value)
        if key in freeze_edits.PLACES:
            return f"[{', '.join(value)}]"
        return _show(value)

    changed = [key for key in wanted if current[key] != wanted[key]]
    return ", ".join(f"{key} {show(key, current)} -> {show(key, wanted)}" for key in changed)


def _save_freeze(freeze: Freeze | None, name: str, fields: dict) -> None:
    own = {key: value for key, value in fields.items() if key not in freeze_edits.PLACES}
    environments = Environment.objects.filter(name__in=fields["environments"])
    services = Service.objects.filter(name__in=fields["services"])
    if freeze is None:
        freeze_edits.create({"name": name, **own}, environments, services)
    else:
        freeze_edits.update(freeze, own, environments, services)


# Prune


def _prune(result: Plan, catalog: CatalogFile) -> None:
    if catalog.freezes is not None:
        for freeze in Freeze.objects.exclude(name__in=catalog.freezes):
            result.add("-", f"delete freeze {freeze.name}", partial(freeze_edits.delete, freeze))
    if catalog.routes is not None:
        for fact, pks in _route_rows().items():
            if fact not in catalog.routes:
                result.add("-", f"delete route: {_describe_route(fact)}", partial(_delete, ChannelRoute, pks))
    if catalog.grants is not None:
        for fact, pks in _grant_rows().items():
            if fact not in catalog.grants:
                result.add("-", f"delete grant: {_describe_grant(fact)}", partial(_delete, Grant, pks))
    if catalog.identities is not None:
        for identity in ChatIdentity.objects.select_related("user"):
            if (identity.platform, identity.workspace, identity.chat_user_id) not in catalog.identities:
                name = f"identity {identity.platform}:{identity.workspace}/{identity.chat_user_id}"
                result.add("-", f"delete {name} -> {identity.user}", partial(_delete, ChatIdentity, [identity.pk]))
    staying = _prune_targets_and_services(result, catalog, catalog.services) if catalog.services is not None else None
    if catalog.environments is not None:
        _prune_environments(result, catalog.environments, staying)


def _prune_targets_and_services(result: Plan, catalog: CatalogFile, services: dict[str, dict]) -> set[int]:
    """Delete the targets and services the file no longer names; the ids of the targets that stay."""
    # Through the reverse relations: the catalog knows that targets gather a history, not what it holds.
    history = set(
        DeployTarget.objects.filter(Q(deployments__isnull=False) | Q(locks__isnull=False))
        .values_list("pk", flat=True)
        .distinct()
    )
    staying: set[int] = set()
    for target in DeployTarget.objects.select_related("service", "environment"):
        if target.environment.name in catalog.targets.get(target.service.name, {}):
            staying.add(target.pk)
        elif target.pk in history:
            staying.add(target.pk)
            result.kept.append(f"kept target {target}: it has deployments or locks")
        else:
            result.add("-", f"delete target {target}", partial(_delete, DeployTarget, [target.pk]))
    for service in Service.objects.exclude(name__in=services):
        if service.targets.filter(pk__in=staying).exists():
            result.kept.append(f"kept service {service.name}: targets with history stay")
        else:
            result.add("-", f"delete service {service.name}", partial(_delete, Service, [service.pk]))
    return staying


def _prune_environments(result: Plan, environments: dict[str, dict], staying: set[int] | None) -> None:
    """Delete the environments the file no longer names, unless protected or still holding targets."""
    for environment in Environment.objects.exclude(name__in=environments):
        targets = environment.targets.all()
        if staying is not None:
            targets = targets.filter(pk__in=staying)
        if environment.protected:
            result.kept.append(f"kept environment {environment.name}: it is protected")
        elif targets.exists():
            result.kept.append(f"kept environment {environment.name}: targets that stay are in it")
        else:
            result.add("-", f"delete environment {environment.name}", partial(_delete, Environment, [environment.pk]))


def _delete(model, pks: list[int]) -> None:
    model.objects.filter(pk__in=pks).delete()


# Export


def snapshot() -> CatalogFile:
    """The whole catalog as the file would say it."""
    catalog = CatalogFile(
        environments={e.name: _fields(e, ENVIRONMENT_DEFAULTS) for e in Environment.objects.all()},
        services={s.name: _fields(s, SERVICE_DEFAULTS) for s in Service.objects.all()},
        grants=set(_grant_rows()),
        identities={
            (i.platform, i.workspace, i.chat_user_id): i.user.get_username()
            for i in ChatIdentity.objects.select_related("user")
        },
        routes=set(_route_rows()),
        webhooks=webhooks.snapshot(),
        freezes={
            freeze.name: _freeze_fields(freeze) for freeze in Freeze.objects.prefetch_related(*freeze_edits.PLACES)
        },
    )
    for target in DeployTarget.objects.select_related("service", "environment"):
        catalog.targets.setdefault(target.service.name, {})[target.environment.name] = _fields(target, TARGET_DEFAULTS)
    return catalog


def _fields(row: models.Model, defaults: dict) -> dict:
    return {name: getattr(row, name) for name in defaults}
