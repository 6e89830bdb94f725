from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "chatops_site.catalog"
    label = "catalog"
    verbose_name = "Catalog and access"
