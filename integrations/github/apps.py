from django.apps import AppConfig


class GitHubConfig(AppConfig):
    name = "integrations.github"
    label = "github"
    verbose_name = "GitHub"
