"""SQLite for the first-look setup, with writers taking turns instead of sleeping.

SQLite lets one connection write at a time. A connection that finds the lock taken is left to SQLite's
busy handler, which sleeps 1, 2, 5 ... up to 100 ms between tries, so under a burst of chat commands a
few unlucky requests sleep for seconds while others keep winning the lock. Here a transaction first
queues for a lock of its process (threads) and a lock file beside the database (processes: the web
server and the queue workers), and only then takes SQLite's (`BEGIN IMMEDIATE`); it gives them back at
commit or rollback. Writers wait only as long as the transactions ahead of them, and SQLite's busy
handler is left for writes made outside a transaction. The kernel lets go of the file lock of a
process that dies.

Set as ENGINE in settings when DATABASE_URL is SQLite; in-memory databases need none of it.
"""

from __future__ import annotations

import fcntl
import os
import threading

from django.db.backends.sqlite3 import base

WRITER = threading.Lock()
_lock_files: dict[str, int] = {}


def _lock_file(database: str) -> int:
    """One open lock file per database and process, beside the database."""
    if database not in _lock_files:
        _lock_files[database] = os.open(f"{database}-writer", os.O_RDWR | os.O_CREAT, 0o600)
    return _lock_files[database]


class DatabaseWrapper(base.DatabaseWrapper):
    holds_writer = False

    def _start_transaction_under_autocommit(self) -> None:
        if not self.is_in_memory_db():
            # Bounded like SQLite's own wait, so a stuck holder shows up as "database is locked", not a hang.
            self.holds_writer = WRITER.acquire(timeout=self.settings_dict["OPTIONS"].get("timeout", 5))
            if self.holds_writer:
                fcntl.flock(_lock_file(self.settings_dict["NAME"]), fcntl.LOCK_EX)
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
        if self.holds_writer:
            self.holds_writer = False
            fcntl.flock(_lock_file(self.settings_dict["NAME"]), fcntl.LOCK_UN)
            WRITER.release()
