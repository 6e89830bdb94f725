from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "chatops_site.web"
    label = "web"
    verbose_name = "Dashboard and REST API"
