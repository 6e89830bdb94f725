"""One module per command; `register()` (called once, when the app is ready) declares them all."""

from importlib import import_module

BUILT_IN = ("approve", "cost", "deploy", "freezes", "help", "history", "lock", "status", "whoami")


def register() -> None:
    for name in BUILT_IN:
        import_module(f"bots.commands.{name}")
