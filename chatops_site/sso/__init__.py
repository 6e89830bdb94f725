"""Single sign-on for the dashboard and the admin with OpenID Connect, built on mozilla-django-oidc.

Off unless OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET are set: then the login pages offer "Sign in
with SSO", the provider's endpoints are discovered from the issuer at the first sign-in (`discovery`), the
id_token is checked in full (`backend`), and the verified email finds or makes the user whose Django groups
follow the provider's groups claim at every sign-in (`accounts`). Grants to those groups then apply.

This module is imported by every page (the login button asks `enabled()`), so it imports nothing else.
"""

from __future__ import annotations

from django.conf import settings


def enabled() -> bool:
    return bool(settings.OIDC_ISSUER and settings.OIDC_CLIENT_ID and settings.OIDC_CLIENT_SECRET)
