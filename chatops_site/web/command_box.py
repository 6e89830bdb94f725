"""The web command box: a logged-in user types a command and it runs through the chat engine.

The engine knows people through `ChatIdentity`; a web user's identity is their own account, linked
here on first use (platform and workspace "web", chat user id = the user's primary key), so a
command typed on the dashboard is audited and authorized exactly like one typed in Slack.
"""

from __future__ import annotations

from bots.command_engine import handle
from bots.models import CommandRun, ConsoleMessage
from bots.types import Invocation, Reply
from chatops_site.catalog.models import ChatIdentity, Platform
from chatops_site.deploys.models import State

WORKSPACE = "web"


def link(user) -> str:
    """The web chat user id of a Django user, linked to that user."""
    chat_user_id = str(user.pk)
    identity, created = ChatIdentity.objects.get_or_create(
        platform=Platform.WEB, workspace=WORKSPACE, chat_user_id=chat_user_id, defaults={"user": user}
    )
    if not created and identity.user_id != user.pk:  # only the session decides who a web user is
        identity.user = user
        identity.save(update_fields=["user"])
    return chat_user_id


def run(user, line: str) -> Reply:
    invocation = Invocation.from_line(
        line,
        platform=Platform.WEB,
        workspace=WORKSPACE,
        channel=WORKSPACE,
        chat_user_id=link(user),
        chat_user_name=user.get_username(),
    )
    return handle(invocation)


def follow_ups(user, run_id: int, after: int = 0) -> tuple[list[ConsoleMessage], bool]:
    """New follow-ups of one of the user's own web commands, and whether more may come.

    Like the console, it stops at the final message, or while the deployment waits for someone's
    approval (the follow-ups start again on the page that approves it).
    """
    command_run = CommandRun.objects.select_related("deployment").get(pk=run_id, user=user, platform=Platform.WEB)
    messages = list(ConsoleMessage.objects.filter(run=command_run, pk__gt=after).order_by("pk"))
    deployment = command_run.deployment
    done = any(m.final for m in messages) or deployment is None or deployment.state == State.AWAITING_APPROVAL
    return messages, done
