"""What mozilla-django-oidc reads as its settings, answered from ours.

The library reads `OIDC_RP_*` and friends from Django's settings; we keep DESIGN's names (`OIDC_ISSUER`,
`OIDC_CLIENT_ID`, ...) and fix the choices that are not a site's to make: RS256 id_tokens, a nonce and
PKCE on every sign-in, no unsigned tokens, no tokens kept in the session. The views and the backend ask
`setting` instead of the library's `import_from_settings`.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from mozilla_django_oidc.utils import import_from_settings

ALGORITHM = "RS256"

FIXED: dict[str, Any] = {
    "OIDC_RP_SIGN_ALGO": ALGORITHM,
    "OIDC_USE_NONCE": True,
    # PKCE too: a code seen on its way back (a proxy's log, a browser extension) is worth nothing alone.
    "OIDC_USE_PKCE": True,
    "OIDC_PKCE_CODE_CHALLENGE_METHOD": "S256",
    "OIDC_ALLOW_UNSECURED_JWT": False,
    "OIDC_STORE_ACCESS_TOKEN": False,
    "OIDC_STORE_ID_TOKEN": False,
    "OIDC_AUTHENTICATION_CALLBACK_URL": "sso-callback",
    "OIDC_REDIRECT_FIELD_NAME": "next",
    "OIDC_AUTH_REQUEST_EXTRA_PARAMS": {},
}


def scopes() -> str:
    """OIDC_SCOPES, with `openid` added when left out: without it the provider sends no id_token."""
    asked = settings.OIDC_SCOPES.split()
    return " ".join(asked if "openid" in asked else ["openid", *asked])


def setting(name: str, *default: Any) -> Any:
    if name in FIXED:
        return FIXED[name]
    if name == "OIDC_RP_SCOPES":
        return scopes()
    if name == "OIDC_RP_CLIENT_ID":
        return settings.OIDC_CLIENT_ID
    if name == "OIDC_RP_CLIENT_SECRET":
        return settings.OIDC_CLIENT_SECRET
    return import_from_settings(name, *default)
