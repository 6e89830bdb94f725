"""The command engine: Invocation -> parse -> resolve identity -> authorize -> handle -> Reply.

Every platform (Slack, Discord, console, web) calls `handle()`. It writes the `CommandRun` audit row
for every command, whatever happens to it, before the answer leaves; while the database is not answering
there is nowhere to write it, and the answer says so.
"""

from __future__ import annotations

import functools
import logging
import time

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, InterfaceError, OperationalError, connection, transaction
from django.utils import timezone

from bots.grammar import InvalidCommand, named, parse, resolve
from bots.models import CommandRun, Outcome
from bots.registry import COMMANDS, Command, Context, find_command
from bots.types import Invocation, Reply
from chatops_site import logs, metrics, ratelimit, sql, tracing
from chatops_site.catalog import rbac
from chatops_site.catalog.models import ChatIdentity
from chatops_site.deploys.engine import DeployError
from chatops_site.deploys.versions import InvalidVersion
from chatops_site.outage import UNREACHABLE
from chatops_site.webhooks import events as webhooks

log = logging.getLogger("chatops.commands")

UMBRELLA = "ops"


def split_umbrella(name: str, text: str) -> tuple[str, str]:
    """`/ops deploy web-app prod` is `/deploy web-app prod`; bare `/ops` is `/help`."""
    name = name.strip().lstrip("/").lower()
    if name == UMBRELLA:
        name, text = ([*text.split(None, 1), "", ""])[:2]
        name = name.lstrip("/").lower() or "help"
    return name, text.strip()


def clean(text: str) -> str:
    """Drop what no database stores: NUL characters, and lone surrogates a JSON payload can carry."""
    return text.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


def identify(invocation: Invocation) -> User | None:
    """The active Django user linked to this chat account, or None.

    Every command asks, so the statement is written once (`_identify_sql`) rather than built by the ORM on
    each call, and the user is loaded from its row as the ORM would.
    """
    with connection.cursor() as cursor:
        cursor.execute(_identify_sql(), [invocation.platform, invocation.workspace, invocation.chat_user_id, True])
        row = cursor.fetchone()
    if row is None:
        return None
    return User.from_db(connection.alias, [field.attname for field in User._meta.concrete_fields], row)


@functools.cache
def _identify_sql() -> str:
    columns = ", ".join(sql.column(User, field.name) for field in User._meta.concrete_fields)
    account = " AND ".join(
        f"{sql.column(ChatIdentity, field)} = %s" for field in ("platform", "workspace", "chat_user_id")
    )
    return (
        f"SELECT {columns} FROM {sql.table(ChatIdentity)} JOIN {sql.table(User)} "  # noqa: S608  (see chatops_site/sql.py)
        f"ON {sql.column(ChatIdentity, 'user')} = {sql.column(User, 'id')} "
        f"WHERE {account} AND {sql.column(User, 'is_active')} = %s"
    )


def handle(invocation: Invocation) -> Reply:
    """Run one command and answer it; never raises. Its log lines, and its tasks', share one request id,
    and when tracing is on its span (`command /<name>`) is the parent of theirs.

    A database that is not answering is answered too, in words every chat shows, rather than with an error
    page the platform would show as its own failure. A commit cut short may still have gone through, so the
    answer does not promise that nothing ran.
    """
    started = time.monotonic()
    name, text = split_umbrella(clean(invocation.command), clean(invocation.text))
    with (
        logs.request_scope() as rid,
        tracing.span(
            f"command /{name}" if name in COMMANDS else "command",  # what a stranger types names no span
            command=name[:32],
            platform=invocation.platform,
            request_id=rid,
        ),
    ):
        try:
            return _handle(invocation, name, text, started)
        except (OperationalError, InterfaceError) as exc:
            log.warning("/%s may not have run: the database is not answering (%s: %s)", name, type(exc).__name__, exc)
            return Reply(UNREACHABLE.format(what=f"/{name[:32]}"))


def _handle(invocation: Invocation, name: str, text: str, started: float) -> Reply:
    user = identify(invocation)
    run = CommandRun(
        platform=invocation.platform,
        workspace=invocation.workspace,
        channel=invocation.channel,
        chat_user_id=invocation.chat_user_id,
        chat_user_name=clean(invocation.chat_user_name)[:150],
        user=user,
        command=name[:32],
        text=text,
        reply_handle=invocation.reply_handle,
        request_id=invocation.request_id,
        received_at=invocation.received_at,
    )
    # Reading and checking happen before the write transaction, so they hold no lock.
    prepared: Context | tuple[Reply, str, str] | Exception
    try:
        prepared = _prepare(invocation, name, text, user, run)
    except Exception as exc:
        prepared = exc
    # One transaction per command: the audit row, the rate-limit counts, what the command changes and
    # the tasks it queues are written together, so a command costs one commit and leaves all or nothing.
    with transaction.atomic():
        try:
            with transaction.atomic():
                sql.insert(run)  # every command writes it: a statement written once (sql.py)
        except IntegrityError:  # the platform sent this request before: answer as we did then
            seen = CommandRun.objects.filter(platform=invocation.platform, request_id=invocation.request_id).first()
            return Reply(seen.reply, public=seen.reply_public, run_id=seen.pk) if seen else Reply("")
        slow_down = ratelimit.refusal(invocation)
        outcome: str
        if slow_down is not None:  # over the limit: recorded, answered, and nothing else runs
            reply, outcome, error = slow_down, Outcome.RATE_LIMITED, slow_down.text
        elif isinstance(prepared, tuple):  # invalid or not allowed
            reply, outcome, error = prepared
        else:
            try:
                if isinstance(prepared, Exception):
                    raise prepared
                with transaction.atomic():
                    reply, outcome, error = _run(prepared)
            except Exception as exc:
                log.exception("/%s %s failed (run %s)", name, text, run.pk)
                reply = Reply(f"Something went wrong with /{name}; it has been logged as command run {run.pk}.")
                outcome, error = Outcome.ERROR, f"{exc.__class__.__name__}: {exc}"
        _finish(run, reply, outcome, error, started)
    reply.run_id = run.pk
    return reply


def _prepare(
    invocation: Invocation, name: str, text: str, user: User | None, run: CommandRun
) -> Context | tuple[Reply, str, str]:
    """The handler's context, or the answer when the command is invalid or not allowed."""
    command: Command | None = None
    try:
        command = find_command(name)
        if invocation.options is None:
            values = parse(command.args, text)
        else:
            values = named(command.args, {clean(str(k)): clean(str(v)) for k, v in invocation.options.items()})
        run.args = values
        run.service = values.get("service", "")[:64]
        run.environment = values.get("env", "")[:50]
        tracing.label(service=run.service, environment=run.environment)
        if user is None and name not in settings.CHATOPS_OPEN_COMMANDS:
            raise rbac.Denied(_unlinked(invocation))
        args = resolve(command.args, values)
        if command.refine is not None:
            args = command.refine(args)
        if command.reads:
            rbac.require(user, command.reads, args.get("service"), args.get("env"))
    except InvalidCommand as exc:
        usage = f"\nUsage: {command.usage}" if command is not None else ""
        return Reply(f"{exc}{usage}"), Outcome.INVALID, str(exc)
    except rbac.Denied as exc:
        return Reply(str(exc)), Outcome.REFUSED, str(exc)
    return Context(invocation=invocation, user=user, args=args, run=run, command=command)


def _run(context: Context) -> tuple[Reply, str, str]:
    try:
        reply = context.command.handler(context)
    except (InvalidCommand, InvalidVersion) as exc:
        return Reply(f"{exc}\nUsage: {context.command.usage}"), Outcome.INVALID, str(exc)
    except (rbac.Denied, DeployError) as exc:
        return Reply(str(exc)), Outcome.REFUSED, str(exc)
    context.run.deployment = context.deployment
    return reply, Outcome.OK, ""


def _unlinked(invocation: Invocation) -> str:
    return (
        f"Your {invocation.platform} account ({invocation.chat_user_id}) is not linked to a ChatOps user yet. "
        "Ask an admin to add a chat identity for it; until then you can use "
        + ", ".join(f"/{c}" for c in settings.CHATOPS_OPEN_COMMANDS)
        + "."
    )


# What a command's answer changes on its audit row, which is inserted before the command runs.
FINISHED_FIELDS = ("deployment", "reply", "reply_public", "outcome", "error", "finished_at", "duration_ms")


def _finish(run: CommandRun, reply: Reply, outcome: str, error: str, started: float) -> None:
    run.reply = reply.text
    run.reply_public = reply.public
    run.outcome = outcome
    run.error = error
    run.finished_at = timezone.now()
    run.duration_ms = int((time.monotonic() - started) * 1000)
    sql.update(run, FINISHED_FIELDS)
    metrics.command_finished(run)
    webhooks.command_finished(run)
