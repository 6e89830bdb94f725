from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Running the product as a service: settings checks, metrics and structured logs."""

    name = "chatops_site.ops"
    label = "ops"
    verbose_name = "Operations"

    def ready(self) -> None:
        from chatops_site import logs
        from chatops_site.ops import checks  # noqa: F401 - registers the settings checks

        logs.follow_into_tasks()
