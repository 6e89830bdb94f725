"""How a `Reply` looks on Slack: Block Kit sections, fields, links and buttons, with a plain `text` beside them.

https://api.slack.com/reference/block-kit/blocks
"""

from __future__ import annotations

from bots.types import Button, Reply

# Slack refuses longer texts in a section block.
SECTION_LIMIT = 3000


def escape(text: str) -> str:
    """Slack's mrkdwn treats &, < and > as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clip(text: str, limit: int = SECTION_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def action_id(button: Button) -> str:
    """`approve:12`: what a click runs, readable in Slack's payload and unique within the message."""
    return f"{button.command}:{button.value}"[:255]


def blocks(reply: Reply) -> list[dict]:
    text = escape(reply.text)
    if "\n" in text:  # lists such as /status and /help line up in a fixed-width font
        text = f"```{text}```"
    rendered: list[dict] = [{"type": "section", "text": {"type": "mrkdwn", "text": _clip(text)}}]
    for start in range(0, len(reply.fields), 10):  # at most 10 fields per section
        chunk = reply.fields[start : start + 10]
        rendered.append(
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": _clip(f"*{escape(label)}*\n{escape(value)}", 2000)}
                    for label, value in chunk
                ],
            }
        )
    if reply.links:
        links = " · ".join(f"<{url}|{escape(label)}>" for label, url in reply.links)
        rendered.append({"type": "context", "elements": [{"type": "mrkdwn", "text": _clip(links)}]})
    if reply.buttons:
        rendered.append({"type": "actions", "elements": [_button(button) for button in reply.buttons]})
    return rendered


def _button(button: Button) -> dict:
    element = {
        "type": "button",
        "text": {"type": "plain_text", "text": button.label[:75]},
        "action_id": action_id(button),
        "value": button.value[:2000],
        "style": button.style,
    }
    if button.confirm:  # https://docs.slack.dev/reference/block-kit/composition-objects/confirmation-dialog-object
        element["confirm"] = {
            "title": {"type": "plain_text", "text": "Are you sure?"},
            "text": {"type": "plain_text", "text": _clip(button.confirm, 300)},
            "confirm": {"type": "plain_text", "text": _clip(f"{button.label} {button.value.rpartition(' ')[2]}", 30)},
            "deny": {"type": "plain_text", "text": "Not yet"},
            "style": button.style,
        }
    return element


def message(reply: Reply) -> dict:
    """Blocks, and a `text` for notifications and clients that show no blocks: mrkdwn too, so escaped."""
    return {"text": _clip(escape(reply.text)), "blocks": blocks(reply)}


def acknowledgement(reply: Reply) -> dict:
    """The HTTP answer to a slash command."""
    return {"response_type": "in_channel" if reply.public else "ephemeral", **message(reply)}
