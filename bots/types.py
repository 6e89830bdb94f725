"""Platform-neutral types: what a chat platform hands the engine, and what the engine hands back."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone


@dataclass
class Invocation:
    """One command as typed by a chat user, whatever the platform."""

    platform: str
    chat_user_id: str
    command: str  # "deploy", "/deploy" or the "ops" umbrella
    text: str = ""
    # Values typed into named fields (Discord's options), keyed by the grammar's argument names; None when
    # the platform sends text. `text` then only shows what was typed, for the audit trail.
    options: dict[str, str] | None = None
    workspace: str = ""
    channel: str = ""
    chat_user_name: str = ""
    reply_handle: str = ""  # Slack response_url, Discord interaction token...
    request_id: str = ""  # the platform's own id, so a retried request is answered once
    received_at: datetime = field(default_factory=timezone.now)

    @classmethod
    def from_line(cls, line: str, **kwargs) -> Invocation:
        """Split a typed line such as `/deploy web-app prod` into command and argument text."""
        command, _, text = line.strip().partition(" ")
        return cls(command=command, text=text.strip(), **kwargs)


@dataclass(frozen=True)
class Button:
    """A button that runs a command when pressed, e.g. Approve -> `/approve 12`."""

    label: str
    command: str
    value: str
    style: str = "primary"  # primary | danger
    # A question to confirm before the command runs ("Approve web-app 1a2b3c4 to prod?"): Slack asks it in
    # a dialog; Discord, which has none, answers the first click privately with a second button.
    confirm: str = ""


@dataclass
class Reply:
    """What the bot says, before any platform renders it."""

    text: str
    fields: list[tuple[str, str]] = field(default_factory=list)
    buttons: list[Button] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)
    public: bool = False  # in the channel for everyone, or only to the person who asked
    final: bool = False  # nothing more will follow about this piece of work
    run_id: int | None = None  # the CommandRun that recorded this answer, when it answers a command
    # What the message is about ("deployment:42"): platforms that can edit keep one message per key
    # and channel up to date instead of posting a new one.
    key: str = ""
    # The text only acknowledges: the real answer follows from a task through the platform's `send`
    # (Discord shows "thinking..." with a deferred response; Slack and the console show the text).
    deferred: bool = False

    def plain(self) -> str:
        """Plain text, as a terminal or a log line shows it."""
        lines = [self.text]
        # A value of several lines (the commits to ship) lines up under its label.
        lines += [f"  {label}: " + value.replace("\n", "\n    ") for label, value in self.fields]
        lines += [f"  {label}: {url}" for label, url in self.links]
        if self.buttons:
            lines.append("  " + "   ".join(f"[{b.label}: /{b.command} {b.value}]" for b in self.buttons))
        return "\n".join(lines)
