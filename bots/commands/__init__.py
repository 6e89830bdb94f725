"""One module per command; `register()` (called once, when the app is ready) declares them all.

The built-in commands come first, then the command plugins installed in this environment (`bots.plugins`):
a plugin may add commands, never replace one.
"""

from importlib import import_module

from bots import plugins

BUILT_IN = ("approve", "cost", "deploy", "freezes", "help", "history", "lock", "status", "whoami")


def register() -> None:
    for name in BUILT_IN:
        import_module(f"bots.commands.{name}")
    plugins.load()
