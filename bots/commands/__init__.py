"""One module per command; importing this package registers them all."""

from bots.commands import approve, cost, deploy, help, history, lock, status, whoami  # noqa: F401
