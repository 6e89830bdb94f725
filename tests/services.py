"""Which outside services (PostgreSQL, Redis) this machine offers the tests, asked once."""

from __future__ import annotations

import functools
import socket

from django.db import connection

POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/postgres"
REDIS_URL = "redis://127.0.0.1:6379/15"


@functools.cache
def reachable(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=1).close()
        return True
    except OSError:
        return False


def redis_reachable() -> bool:
    return reachable("127.0.0.1", 6379)


def database_url() -> str:
    """A URL another process can use to open the database the tests are using right now."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    user = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{user}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
