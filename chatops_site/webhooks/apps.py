from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    """Outgoing webhooks: deploys, approvals, commands and cost anomalies POSTed, signed, to n8n, Zapier or anything."""

    name = "chatops_site.webhooks"
    label = "webhooks"
    verbose_name = "Outgoing webhooks"
