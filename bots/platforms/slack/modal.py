"""The deploy modal: `/deploy` without arguments asks for service, environment, version (and a break-glass
reason) in a form."""

from __future__ import annotations

import json

from chatops_site.catalog.models import Environment, Service

CALLBACK_ID = "deploy"
# The block ids of the modal's inputs, in the order they show; an error for the whole form goes under the first.
FIELDS = ("service", "env", "version", "override")
# Slack shows at most 100 options in a static select, each label at most 75 characters.
MAX_OPTIONS = 100


def _option(value: str, label: str) -> dict:
    return {"text": {"type": "plain_text", "text": label[:75]}, "value": value}


def _select(block_id: str, label: str, options: list[dict]) -> dict:
    return {
        "type": "input",
        "block_id": block_id,
        "label": {"type": "plain_text", "text": label},
        "element": {"type": "static_select", "action_id": "value", "options": options},
    }


def view(channel: str) -> dict:
    """The modal, with the catalog's services and environments as choices."""
    services = [
        _option(s.name, f"{s.name} - {s.description}" if s.description else s.name)
        for s in Service.objects.order_by("name")[:MAX_OPTIONS]
    ]
    environments = [_option(e.name, e.name) for e in Environment.objects.order_by("order", "name")[:MAX_OPTIONS]]
    return {
        "type": "modal",
        "callback_id": CALLBACK_ID,
        "private_metadata": json.dumps({"channel": channel}),
        "title": {"type": "plain_text", "text": "Deploy"},
        "submit": {"type": "plain_text", "text": "Deploy"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            _select("service", "Service", services),
            _select("env", "Environment", environments),
            {
                "type": "input",
                "block_id": "version",
                "optional": True,
                "label": {"type": "plain_text", "text": "Version"},
                "hint": {"type": "plain_text", "text": "A branch, tag or SHA; empty: the target's default ref."},
                "element": {"type": "plain_text_input", "action_id": "value", "max_length": 200},
            },
            {
                "type": "input",
                "block_id": "override",
                "optional": True,
                "label": {"type": "plain_text", "text": "Break-glass reason"},
                "hint": {
                    "type": "plain_text",
                    "text": "Only to pass a lock or a freeze (needs the override grant); the channel is told.",
                },
                "element": {"type": "plain_text_input", "action_id": "value", "max_length": 500},
            },
        ],
    }


def submitted(view: dict) -> tuple[dict[str, str], str]:
    """The values typed into the modal (service, env, version) and the channel it was opened in."""
    state = (view.get("state") or {}).get("values") or {}
    values = {}
    for block_id in FIELDS:
        element = (state.get(block_id) or {}).get("value") or {}
        chosen = (element.get("selected_option") or {}).get("value") if "selected_option" in element else None
        values[block_id] = str(chosen if chosen is not None else element.get("value") or "").strip()
    try:
        channel = json.loads(view.get("private_metadata") or "{}").get("channel", "")
    except (ValueError, AttributeError):
        channel = ""
    return values, str(channel)


def errors(values: dict[str, str]) -> dict[str, str]:
    """What is wrong with the choices, per block, as Slack shows it under the field; the deploy rules judge
    the version when the request runs."""
    found = {}
    if not Service.objects.filter(name=values["service"]).exists():
        found["service"] = "Choose a service from the list."
    if not Environment.objects.filter(name=values["env"]).exists():
        found["env"] = "Choose an environment from the list."
    return found


def command_text(values: dict[str, str]) -> str:
    """The same arguments as typed: `/deploy web-app staging v1.2 --override db is down`."""
    typed = " ".join(v for v in (values["service"], values["env"], values["version"]) if v)
    return typed + (f" --override {values['override']}" if values.get("override") else "")
