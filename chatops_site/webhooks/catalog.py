"""The catalog file's `webhooks:` section: reading it, what applying it changes, and writing it back out.

    webhooks:
      - {name: n8n, url: "https://n8n.example.com/webhook/chatops", events: [deploy, approval], secret: "..."}

Webhooks are matched by URL. `name` defaults to the URL's host, `events` to all four kinds, `active` to
true. The secret is the one value the file may leave out: then the webhook keeps the secret it has (set
in the admin, or by an earlier apply), and a new webhook must have one. `catalog export` never writes
it, so an exported file can be reviewed and committed; applying that file keeps every secret as it is.
The plan names a changed secret, never its value.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError

from chatops_site import crypto
from chatops_site.webhooks.models import EventKind, Webhook, http_url, ordered_kinds

if TYPE_CHECKING:
    from chatops_site.catalog.catalog_file import _Reader

KEYS = ("name", "url", "events", "secret", "active")
Add = Callable[[str, str, Callable[[], object]], None]  # sync.Plan.add


def default_name(url: str) -> str:
    return (urlsplit(url).hostname or url)[:100]


def read(reader: _Reader, value: object, line: int) -> dict[str, dict[str, Any]]:
    """URL -> the row the file asks for (with `secret` only when it gives one); problems go to `reader`."""
    existing = set(Webhook.objects.values_list("url", flat=True))
    found: dict[str, dict[str, Any]] = {}
    for item_line, item in reader.items(value, line, "webhooks"):
        spec = reader.mapping(item, item_line, "webhook", KEYS, ("url",))
        if spec is None or "url" not in spec:
            continue
        url = reader.text(spec["url"], spec.lines["url"], "webhook url", limit=500)
        if url is None:
            continue
        try:
            http_url(url)
        except ValidationError:
            reader.problem(spec.lines["url"], f"webhook url: '{url}' is not an http:// or https:// URL")
            continue
        where = f"webhook {url}"
        if url in found:
            reader.problem(spec.lines["url"], f"{where} is named twice")
        row: dict[str, Any] = {"name": default_name(url), "events": list(EventKind.values), "active": True}
        if "name" in spec:
            row["name"] = reader.text(spec["name"], spec.lines["name"], f"{where}: name", limit=100)
        if "events" in spec:
            events = [
                reader.choice(event, spec.lines["events"], where, "event", EventKind.values)
                for event in reader.names(spec["events"], spec.lines["events"], f"{where}: events")
            ]
            row["events"] = ordered_kinds(events)
        if "active" in spec:
            row["active"] = reader.flag(spec["active"], spec.lines["active"], f"{where}: active")
        if "secret" in spec:
            secret = reader.text(spec["secret"], spec.lines["secret"], f"{where}: secret", limit=500)
            if secret == "":
                reader.problem(spec.lines["secret"], f"{where}: secret is blank")
            row["secret"] = secret
        elif url not in existing:
            reader.problem(item_line, f"{where}: a new webhook needs a secret (or create it in the admin first)")
        found[url] = row
    return found


def plan(add: Add, wanted: dict[str, dict[str, Any]], prune: bool) -> None:
    """The changes that make the webhooks what the file says (deleting the others with `prune`)."""
    current = {hook.url: hook for hook in Webhook.objects.all()}
    for url, row in wanted.items():
        hook = current.get(url)
        if hook is None:
            add("+", f"create webhook {row['name']} -> {url}: {', '.join(row['events'])}", partial(_create, url, row))
        elif changes := _differences(hook, row):
            add("~", f"update webhook {hook.name} -> {url}: {changes}", partial(_update, hook, row))
    if prune:
        for url, hook in current.items():
            if url not in wanted:
                add("-", f"delete webhook {hook.name} -> {url} (and its deliveries)", partial(_delete, hook.pk))


def _differences(hook: Webhook, row: dict[str, Any]) -> str:
    changes = []
    if hook.name != row["name"]:
        changes.append(f"name {hook.name!r} -> {row['name']!r}")
    if ordered_kinds(hook.events) != row["events"]:
        changes.append(f"events {', '.join(ordered_kinds(hook.events))} -> {', '.join(row['events'])}")
    if hook.active != row["active"]:
        changes.append(f"active {hook.active} -> {row['active']}")
    if "secret" in row and not _holds(hook, row["secret"]):
        changes.append("secret changed")
    return ", ".join(changes)


def _holds(hook: Webhook, secret: str) -> bool:
    try:
        return hook.secret == secret
    except crypto.CannotDecrypt:
        return False


def _create(url: str, row: dict[str, Any]) -> None:
    hook = Webhook(url=url, name=row["name"], events=row["events"], active=row["active"])
    hook.secret = row["secret"]
    hook.save()


def _update(hook: Webhook, row: dict[str, Any]) -> None:
    hook.name, hook.events, hook.active = row["name"], row["events"], row["active"]
    if "secret" in row:
        hook.secret = row["secret"]
    hook.save()


def _delete(pk: int) -> None:
    Webhook.objects.filter(pk=pk).delete()


def snapshot() -> dict[str, dict[str, Any]]:
    """Every webhook as the file would say it, without its secret."""
    return {
        hook.url: {"name": hook.name, "events": ordered_kinds(hook.events), "active": hook.active}
        for hook in Webhook.objects.all()
    }


def entries(webhooks: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The file's list, leaving out what equals the defaults, and always the secret."""
    found = []
    for url, row in sorted(webhooks.items()):
        entry: dict[str, Any] = {}
        if row["name"] != default_name(url):
            entry["name"] = row["name"]
        entry["url"] = url
        entry["events"] = list(row["events"])
        if not row["active"]:
            entry["active"] = False
        found.append(entry)
    return found
