"""`manage.py chatops --as alice "/deploy web-app staging"`: the console adapter, our Hubot shell."""

from __future__ import annotations

import logging
import time

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from bots.command_engine import handle
from bots.models import CommandRun, ConsoleMessage, Outcome
from bots.platforms.console import WORKSPACE
from bots.types import Invocation
from chatops_site import tracing
from chatops_site.deploys.models import State

POLL = 0.3


class Command(BaseCommand):
    help = "Run a chat command through the engine as a user and print the reply and its follow-ups."

    def add_arguments(self, parser):
        parser.add_argument("--as", dest="username", required=True, help="the console user to act as")
        parser.add_argument("line", nargs="?", help='e.g. "/deploy web-app staging"; none opens a prompt')
        parser.add_argument("--no-wait", action="store_true", help="return after the first answer")
        parser.add_argument("--timeout", type=float, default=900, help="seconds to follow the work (default 900)")

    def handle(self, *args, **options):
        tracing.setup()  # a chat platform of its own: its commands start traces, as Slack's requests do
        # The engine's own log lines would interleave with the conversation; the audit is in the database.
        # Levels are put back afterwards, for callers that go on in the same process (call_command).
        loggers = [logging.getLogger(name) for name in ("chatops", "django-q")]
        levels = [logger.level for logger in loggers]
        for logger in loggers:
            logger.setLevel(logging.WARNING)
        try:
            self._converse(**options)
        finally:
            for logger, level in zip(loggers, levels, strict=True):
                logger.setLevel(level)

    def _converse(self, *, username, line, no_wait, timeout, **options):
        if not get_user_model().objects.filter(username=username).exists():
            self.stderr.write(f"note: there is no user {username!r}; you act as an unlinked chat user")
        if line:
            if not self._run(username, line, wait=not no_wait, timeout=timeout):
                raise CommandError("the command did not succeed")
            return
        self.stdout.write(f"ChatOps console as {username}. Type /help, or an empty line to leave.")
        while True:
            try:
                line = input("chatops> ").strip()
            except EOFError:
                break
            if not line:
                break
            self._run(username, line, wait=not no_wait, timeout=timeout)

    def _run(self, username: str, line: str, wait: bool, timeout: float) -> bool:
        """Print the answer and follow-ups; True unless the command or its deployment failed."""
        invocation = Invocation.from_line(line, platform="console", workspace=WORKSPACE, chat_user_id=username)
        invocation.chat_user_name = username
        reply = handle(invocation)
        self.stdout.write(reply.plain())
        run = CommandRun.objects.select_related("deployment").filter(pk=reply.run_id).first() if reply.run_id else None
        if run is None or run.outcome != Outcome.OK:
            return False
        # Deployments and deferred answers (such as /status) arrive as follow-ups.
        if not wait or reply.final or (run.deployment_id is None and not reply.deferred):
            return True
        return self._follow(run, timeout)

    def _follow(self, run, timeout: float) -> bool:
        seen = 0
        # A deployment being pinned to its commit says which one (and what it brings) in a follow-up.
        pinning = run.deployment_id is not None and run.deployment.pinning
        deadline = time.monotonic() + timeout
        hinted = False
        started = time.monotonic()
        while time.monotonic() < deadline:
            for message in ConsoleMessage.objects.filter(run=run, pk__gt=seen).order_by("pk"):
                seen = message.pk
                self.stdout.write(message.text)
                if message.final:
                    if run.deployment_id is None:  # a deferred answer, complete
                        return True
                    run.deployment.refresh_from_db()
                    return run.deployment.state == State.SUCCEEDED
            if run.deployment_id is not None:
                run.deployment.refresh_from_db()
                pinned = not run.deployment.pinning and (seen or not pinning)
                if run.deployment.state == State.AWAITING_APPROVAL and pinned:
                    return True  # nothing happens until someone decides; they will see it through
            queued = run.deployment_id is None or run.deployment.state == State.QUEUED
            if not hinted and time.monotonic() - started > 15 and queued:
                self.stderr.write("(still queued: is a worker running? start one with `manage.py qcluster`)")
                hinted = True
            time.sleep(POLL)
        self.stderr.write(f"stopped following after {timeout:.0f}s; /history shows how it ends")
        return False
