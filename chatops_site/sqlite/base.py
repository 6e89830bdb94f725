"""SQLite for the first-look setup, with the writers of one process taking turns instead of sleeping.

SQLite lets one connection write at a time. A thread that finds the lock taken is left to SQLite's busy
handler, which sleeps 1, 2, 5 ... up to 100 ms between tries, so under a burst of chat commands a few
unlucky threads sleep for seconds while others keep winning the lock. Here a thread first queues for a
process-wide lock, then takes SQLite's (`BEGIN IMMEDIATE`), and gives both back at commit or rollback:
threads wait only as long as the transactions ahead of them. Other processes (the queue workers) still
meet SQLite's busy handler, but they write little and briefly.

Set as ENGINE in settings when DATABASE_URL is SQLite; in-memory databases (the tests') are left as
they are.
"""

from __future__ import annotations

import threading

from django.db.backends.sqlite3 import base

WRITER = threading.Lock()


class DatabaseWrapper(base.DatabaseWrapper):
    holds_writer = False

    def _start_transaction_under_autocommit(self) -> None:
        if not self.is_in_memory_db():
            # Bounded like SQLite's own wait, so a stuck holder shows up as "database is locked", not a hang.
            self.holds_writer = WRITER.acquire(timeout=self.settings_dict["OPTIONS"].get("timeout", 5))
        try:
            super()._start_transaction_under_autocommit()
        except BaseException:
            self._release_writer()
            raise

    def _commit(self) -> None:
        try:
            super()._commit()
        finally:
            self._release_writer()

    def _rollback(self) -> None:
        try:
            super()._rollback()
        finally:
            self._release_writer()

    def _close(self) -> None:
        try:
            super()._close()
        finally:
            self._release_writer()

    def _release_writer(self) -> None:
        if self.holds_writer:
            self.holds_writer = False
            WRITER.release()
