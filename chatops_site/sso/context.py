"""Tells the templates whether to offer "Sign in with SSO" (the dashboard's login page and the admin's)."""

from __future__ import annotations

from django.http import HttpRequest

from chatops_site.sso import enabled


def sso(request: HttpRequest) -> dict[str, bool]:
    return {"sso_enabled": enabled()}
