from django.apps import AppConfig


class DeploysConfig(AppConfig):
    name = "chatops_site.deploys"
    label = "deploys"
    verbose_name = "Deployments"
