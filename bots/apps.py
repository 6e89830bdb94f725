from django.apps import AppConfig


class BotsConfig(AppConfig):
    name = "bots"
    verbose_name = "Chat commands"

    def ready(self) -> None:
        # The built-in commands, then the plugins' (which also registers the check naming skipped plugins),
        # declare themselves with @command when their modules are imported.
        from bots import commands

        commands.register()
