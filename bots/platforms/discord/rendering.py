"""How a `Reply` looks on Discord: content, one embed with the fields and links, and button rows.

https://discord.com/developers/docs/resources/message#create-message
https://discord.com/developers/docs/components/reference#button
"""

from __future__ import annotations

from enum import IntEnum

from bots.types import Button, Reply

EPHEMERAL = 1 << 6
STYLES = {"primary": 1, "danger": 4}
MAX_CONTENT = 2000
MAX_FIELDS = 25
BUTTONS_PER_ROW = 5


class Callback(IntEnum):
    """Interaction response types."""

    PONG = 1
    MESSAGE = 4
    DEFERRED_MESSAGE = 5
    UPDATE_MESSAGE = 7
    AUTOCOMPLETE_RESULT = 8


def render(reply: Reply, interactive: bool = True) -> dict:
    """The message body; `embeds` and `components` are always there so that an edit clears old ones.

    Channel webhooks that an admin created cannot carry buttons, so without `interactive` the buttons
    become the commands to type instead.
    """
    content = reply.text
    if reply.buttons and not interactive:
        content += "\n" + "  ·  ".join(f"{b.label}: `/{b.command} {b.value}`" for b in reply.buttons)
    return {
        "content": _clip(content, MAX_CONTENT),
        "embeds": _embeds(reply),
        "components": _rows(reply.buttons) if interactive else [],
        # Text people typed (a lock reason, a branch name) must never ping @everyone or a role.
        "allowed_mentions": {"parse": []},
    }


# A button that asks first: its click only shows the question; the answer's own button runs the command.
CONFIRM = "confirm"


def custom_id(button: Button) -> str:
    pressing = f"{button.command}:{button.value}"
    return (f"{CONFIRM}:{pressing}" if button.confirm else pressing)[:100]


def pressed(custom_id: str) -> tuple[str, str]:
    """The command and its argument text behind a button: `approve:12` -> ("approve", "12")."""
    command, _, value = custom_id.partition(":")
    return command, value


def confirmation(message: dict, pressing: str) -> dict:
    """Discord has no confirmation dialog: the first click answers privately with the message it was on
    (what is being approved) and a second button that says exactly which command it runs as you."""
    command, value = pressed(pressing)
    button = Button(f"Yes: /{command} {value}", command, value)
    data: dict = {
        "content": _clip(
            f"Sure? This runs `/{command} {value}` as you, for:\n{message.get('content', '')}", MAX_CONTENT
        ),
        "embeds": message.get("embeds") or [],
        "components": _rows([button]),
        "allowed_mentions": {"parse": []},
        "flags": EPHEMERAL,
    }
    return {"type": Callback.MESSAGE, "data": data}


def answer(reply: Reply) -> dict:
    """The immediate answer to a command: the message itself, or "thinking..." when the work follows."""
    flags = {} if reply.public else {"flags": EPHEMERAL}
    if reply.deferred:
        return {"type": Callback.DEFERRED_MESSAGE, "data": flags}
    return {"type": Callback.MESSAGE, "data": {**render(reply), **flags}}


def private(text: str) -> dict:
    """An answer only the person who clicked or typed sees."""
    return answer(Reply(text))


def _embeds(reply: Reply) -> list[dict]:
    embed: dict = {}
    if reply.fields:
        embed["fields"] = [
            {"name": _clip(name, 256), "value": _clip(value, 1024) or "-", "inline": True}
            for name, value in reply.fields[:MAX_FIELDS]
        ]
    if reply.links:
        embed["description"] = _clip("\n".join(f"[{label}]({url})" for label, url in reply.links), 4096)
    return [embed] if embed else []


def _rows(buttons: list[Button]) -> list[dict]:
    parts = [
        {
            "type": 2,
            "style": STYLES.get(b.style, STYLES["primary"]),
            "label": _clip(b.label, 80),
            "custom_id": custom_id(b),
        }
        for b in buttons
    ]
    return [{"type": 1, "components": parts[i : i + BUTTONS_PER_ROW]} for i in range(0, len(parts), BUTTONS_PER_ROW)]


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
