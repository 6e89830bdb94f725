"""SQLite writers take turns: many threads and another process write at once, and nothing is lost."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.db import connection, transaction
from django.utils import timezone

from bots.models import CommandRun
from tests.services import database_url

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "sqlite", reason="the writers' turns are SQLite's (PostgreSQL locks rows)"),
]

WRITE_FROM_ANOTHER_PROCESS = """
import django, sys
django.setup()
from django.db import transaction
from django.utils import timezone
from bots.models import CommandRun
for n in range(int(sys.argv[1])):
    with transaction.atomic():
        CommandRun.objects.create(platform="other", chat_user_id=str(n), command="whoami", received_at=timezone.now())
"""


def write(platform: str, count: int, errors: list) -> None:
    try:
        for n in range(count):
            with transaction.atomic():
                run = CommandRun.objects.create(
                    platform=platform, chat_user_id=str(n), command="whoami", received_at=timezone.now()
                )
                run.reply = "done"
                run.save(update_fields=["reply"])
    except Exception as exc:  # collected: an assertion in a thread would go unseen
        errors.append(exc)
    finally:
        connection.close()


def test_threads_and_another_process_all_get_their_writes_in():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "chatops_site.settings", "DATABASE_URL": database_url()}
    other = subprocess.Popen([sys.executable, "-c", WRITE_FROM_ANOTHER_PROCESS, "40"], cwd=ROOT, env=env)
    errors: list = []
    threads = [threading.Thread(target=write, args=(f"thread-{t}", 25, errors)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert other.wait(timeout=60) == 0
    assert errors == []
    assert CommandRun.objects.filter(platform__startswith="thread-", reply="done").count() == 8 * 25
    assert CommandRun.objects.filter(platform="other").count() == 40


def test_a_rolled_back_transaction_lets_the_next_writer_in():
    with pytest.raises(RuntimeError), transaction.atomic():
        CommandRun.objects.create(platform="gone", command="whoami", received_at=timezone.now())
        raise RuntimeError("the command failed")

    errors: list = []
    thread = threading.Thread(target=write, args=("after", 1, errors))
    thread.start()
    thread.join(timeout=10)

    assert not thread.is_alive() and errors == []
    assert list(CommandRun.objects.values_list("platform", flat=True)) == ["after"]


def test_a_forked_child_takes_its_own_turn_not_its_parents():
    """django-q forks workers from a process that may hold the lock file: the child must still wait."""
    from chatops_site.sqlite import base

    database = connection.settings_dict["NAME"]
    held = base._lock_file(database)
    fcntl.flock(held, fcntl.LOCK_EX)  # the parent is writing when it forks
    try:
        child = os.fork()
        if child == 0:  # the child: its own lock file, which the parent's turn keeps waiting
            os._exit(0 if not base._take_file_lock(base._lock_file(database), 0.2) else 1)
        _, status = os.waitpid(child, 0)
    finally:
        fcntl.flock(held, fcntl.LOCK_UN)

    assert os.waitstatus_to_exitcode(status) == 0


def test_waiting_for_another_process_is_bounded():
    from chatops_site.sqlite import base

    path = f"{connection.settings_dict['NAME']}-writer"
    holder = subprocess.Popen([sys.executable, "-c", HOLD_THE_FILE_LOCK, path], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        started = time.monotonic()

        taken = base._take_file_lock(base._lock_file(connection.settings_dict["NAME"]), 0.3)

        assert not taken
        assert 0.25 < time.monotonic() - started < 3
    finally:
        holder.kill()
        holder.wait()


HOLD_THE_FILE_LOCK = """
import fcntl, os, sys, time
descriptor = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(descriptor, fcntl.LOCK_EX)
print("held", flush=True)
time.sleep(30)
"""
