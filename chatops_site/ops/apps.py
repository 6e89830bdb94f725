from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Running the product as a service: settings checks, metrics, structured logs and tracing."""

    name = "chatops_site.ops"
    label = "ops"
    verbose_name = "Operations"

    def ready(self) -> None:
        from chatops_site import logs, tracing
        from chatops_site.ops import checks  # noqa: F401 - registers the settings checks

        logs.follow_into_tasks()
        tracing.trace_queue_workers()
