"""SQLite for the first-look setup, with writers taking turns instead of sleeping.

SQLite lets one connection write at a time. A connection that finds the lock taken is left to SQLite's
busy handler, which sleeps 1, 2, 5 ... up to 100 ms between tries, so under a burst of chat commands a
few unlucky requests sleep for seconds while others keep winning the lock. Here a transaction first
queues for a lock of its process (threads) and a lock file beside the database (processes: the web
server and the queue workers), and only then takes SQLite's (`BEGIN IMMEDIATE`); it gives them back at
commit or rollback. Writers wait only as long as the transactions ahead of them, and SQLite's busy
handler is left for writes made outside a transaction. The kernel lets go of the file lock of a
process that dies.

Both locks are the process's own: django-q forks its workers from a process that may already hold them,
and a forked child shares its parent's open lock file (a `flock` on it is no turn of its own) and copies
its thread lock in whatever state it was. So a child starts with fresh ones. Both waits are bounded by
the database's timeout; past it, SQLite's own busy handler decides, as it would without them.

Set as ENGINE in settings when DATABASE_URL is SQLite; in-memory databases need none of it.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time

from django.db.backends.sqlite3 import base

WRITER = threading.Lock()
_lock_files: dict[str, int] = {}


def _lock_file(database: str) -> int:
    """One open lock file per database and process, beside the database."""
    if database not in _lock_files:
        _lock_files[database] = os.open(f"{database}-writer", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    return _lock_files[database]


def _after_fork_in_child() -> None:
    """Give a forked process locks of its own (see the module's docstring)."""
    global WRITER
    WRITER = threading.Lock()
    for descriptor in _lock_files.values():
        os.close(descriptor)  # the parent's lock, if it holds one, stays the parent's
    _lock_files.clear()


os.register_at_fork(after_in_child=_after_fork_in_child)


def _take_file_lock(descriptor: int, timeout: float) -> bool:
    """An exclusive `flock`, waited for at most `timeout` seconds (`flock` itself cannot time out).

    Under a burst the lock changes hands hundreds of times a second, each time for about a millisecond:
    the naps stay that short, or the lock would lie idle while its next holder sleeps.
    """
    deadline = time.monotonic() + timeout
    pause = 0.0001
    while True:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(pause)
            pause = min(pause * 2, 0.001)


class DatabaseWrapper(base.DatabaseWrapper):
    # The process whose locks this connection holds: a connection copied into a forked child holds none there.
    writer_pid = 0

    def _start_transaction_under_autocommit(self) -> None:
        if not self.is_in_memory_db():
            # Bounded like SQLite's own wait, so a stuck holder shows up as "database is locked", not a hang.
            timeout = self.settings_dict["OPTIONS"].get("timeout", 5)
            if WRITER.acquire(timeout=timeout):
                if _take_file_lock(_lock_file(self.settings_dict["NAME"]), timeout):
                    self.writer_pid = os.getpid()
                else:
                    WRITER.release()
        try:
            super()._start_transaction_under_autocommit()  # type: ignore[misc]  # private hook, left out of django-stubs
        except BaseException:
            self._release_writer()
            raise

    def _commit(self) -> None:
        try:
            super()._commit()  # type: ignore[misc]  # private hook, left out of django-stubs
        finally:
            self._release_writer()

    def _rollback(self) -> None:
        try:
            super()._rollback()  # type: ignore[misc]  # private hook, left out of django-stubs
        finally:
            self._release_writer()

    def _close(self) -> None:
        try:
            super()._close()  # type: ignore[misc]  # private hook, left out of django-stubs
        finally:
            self._release_writer()

    def _release_writer(self) -> None:
        holder, self.writer_pid = self.writer_pid, 0
        if holder == os.getpid():
            fcntl.flock(_lock_file(self.settings_dict["NAME"]), fcntl.LOCK_UN)
            WRITER.release()
