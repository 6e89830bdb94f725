"""Where things live outside the dashboard: a service's repository, its admin page."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.urls import reverse


def github_web_url() -> str:
    """GitHub's web address for the configured API: api.github.com -> github.com; Enterprise drops /api/v3."""
    api = urlsplit(settings.GITHUB_API_URL.rstrip("/"))
    host = "github.com" if api.netloc == "api.github.com" else api.netloc
    path = api.path.removesuffix("/api/v3").removesuffix("/api")
    return f"{api.scheme}://{host}{path}"


def repository_url(repository: str) -> str:
    return f"{github_web_url()}/{repository}" if repository else ""


def admin_url(service) -> str:
    return reverse("admin:catalog_service_change", args=[service.pk])
