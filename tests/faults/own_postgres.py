"""A PostgreSQL server of the test's own, for a fault test that stops and starts the server itself.

The suite's server on 127.0.0.1:5432 is shared by every test process and must never go down, so a test
that restarts PostgreSQL runs one of its own: Debian's binaries, a free port, a directory of its own.
PostgreSQL refuses to run as root; as root it runs as the `postgres` user, in a directory that user owns
outside root's pytest directories (which other users cannot enter).
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ops.test_production import free_port

INSTALLED = Path("/usr/lib/postgresql")
USER = "postgres"


class PostgresServer:
    """One server: `initdb` once, then `start` and `stop` as often as a test likes, on the same port."""

    def __init__(self, binaries: Path, home: Path, as_user: str | None) -> None:
        self.binaries, self.home, self.as_user = binaries, home, as_user
        self.data, self.log = home / "data", home / "server.log"
        self.port = free_port()

    @property
    def url(self) -> str:
        return f"postgres://{USER}@127.0.0.1:{self.port}"

    def run(self, program: str, *args: str) -> None:
        command = [str(self.binaries / program), *args]
        if self.as_user:
            command = ["runuser", "-u", self.as_user, "--", *command]
        done = subprocess.run(command, cwd=self.home, capture_output=True, text=True, timeout=120)
        if done.returncode:
            raise RuntimeError(f"{program} failed: {done.stdout}{done.stderr}")

    def initdb(self) -> None:
        """Trust on TCP from this machine only; no Unix socket, which would sit beside the shared server's."""
        self.run("initdb", "-D", str(self.data), "-U", USER, "--auth=trust", "--encoding=UTF8", "--no-locale")
        settings = f"port = {self.port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = ''\n"
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(settings)

    def start(self) -> None:
        """Returns once the server accepts connections (after crash recovery, when it was stopped hard)."""
        self.run("pg_ctl", "start", "-w", "-t", "60", "-D", str(self.data), "-l", str(self.log))

    def stop(self, mode: str = "immediate") -> None:
        """`immediate`: every backend dies at once, no checkpoint, as in a crash of the server."""
        self.run("pg_ctl", "stop", "-w", "-m", mode, "-D", str(self.data))

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()


def _binaries() -> Path | None:
    """The newest installed version's `bin`."""
    found = [path for path in INSTALLED.glob("*/bin") if (path / "pg_ctl").exists()]
    return max(found, key=lambda path: int(path.parent.name), default=None)


def _home(tmp_path: Path) -> tuple[Path, str | None]:
    """Where the server lives, and the user it runs as (None: this process's own)."""
    if os.geteuid() != 0:
        return tmp_path, None
    try:
        owner = pwd.getpwnam(USER)
    except KeyError:
        pytest.skip(f"running as root and there is no `{USER}` user for PostgreSQL to run as")
    home = Path(tempfile.mkdtemp(prefix="chatops-own-postgres-"))
    os.chown(home, owner.pw_uid, owner.pw_gid)
    return home, USER


@pytest.fixture
def own_postgres(tmp_path) -> Iterator[PostgresServer]:
    binaries = _binaries()
    if binaries is None:
        pytest.skip(f"PostgreSQL's server binaries are not installed under {INSTALLED}/<version>/bin")
    home, as_user = _home(tmp_path)
    server = PostgresServer(binaries, home, as_user)
    try:
        try:
            server.initdb()
            server.start()
        except (RuntimeError, subprocess.TimeoutExpired) as error:
            log = server.log.read_text(errors="replace")[-2000:] if server.log.exists() else ""
            pytest.skip(f"could not start a PostgreSQL server of the test's own: {error}\n{log}")
        yield server
    finally:
        if server.running():
            server.stop()
        if as_user:
            shutil.rmtree(home, ignore_errors=True)
