"""Where the identity provider's endpoints are: its discovery document, fetched at the first sign-in.

`{OIDC_ISSUER}/.well-known/openid-configuration` names the endpoints, and must name the issuer exactly as
configured (OpenID Connect Discovery 4.3): otherwise a document served from elsewhere could point our
sign-ins at another provider. Settings never fetch it (starting the server does no network); it is kept an
hour per issuer, and a failed fetch is not kept, so the next sign-in asks again. The provider's signing
keys are fetched at each sign-in, so a rotated key is picked up at once.

Every call goes through the door to outside HTTP (`integrations.http`): timeouts, /metrics, retries.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from integrations.http import OutsideSession, session

SYSTEM = "oidc"
TIMEOUT = 5.0  # seconds: someone is waiting on the login page
KEEP = 3600.0  # seconds a discovery document is used before it is fetched again
REQUIRED = ("authorization_endpoint", "token_endpoint", "jwks_uri")


class DiscoveryError(Exception):
    """The provider's metadata is unusable or not to be trusted: a setup problem, for the log."""


@dataclass(frozen=True)
class Provider:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str = ""
    end_session_endpoint: str = ""
    # How the provider takes our secret at the token endpoint; the spec's default when it does not say.
    token_auth_methods: tuple[str, ...] = ("client_secret_basic",)


_known: dict[str, tuple[float, Provider]] = {}
_lock = threading.Lock()


def http() -> OutsideSession:
    return session(SYSTEM, TIMEOUT)


def provider() -> Provider:
    """The configured issuer's endpoints; raises OutsideError (unreachable) or DiscoveryError (unusable)."""
    issuer = settings.OIDC_ISSUER
    with _lock:
        found = _known.get(issuer)
    if found is not None and time.monotonic() - found[0] < KEEP:
        return found[1]
    fetched = _fetch(issuer)
    with _lock:
        _known[issuer] = (time.monotonic(), fetched)
    return fetched


def _fetch(issuer: str) -> Provider:
    # A path's trailing slash goes before the well-known suffix (Discovery 4.1); the issuer stays as written.
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    try:
        document = http().call("GET", url, what="the discovery document").json()
    except ValueError:
        raise DiscoveryError(f"the discovery document at {url} is not JSON") from None
    if not isinstance(document, dict):
        raise DiscoveryError(f"the discovery document at {url} is not a JSON object")
    if document.get("issuer") != issuer:
        raise DiscoveryError(
            f"the discovery document at {url} names the issuer {document.get('issuer')!r}, "
            f"not OIDC_ISSUER {issuer!r}: set OIDC_ISSUER to the provider's issuer exactly"
        )
    missing = [name for name in REQUIRED if not _text(document.get(name))]
    if missing:
        raise DiscoveryError(f"the discovery document at {url} has no {', '.join(missing)}")
    methods = document.get("token_endpoint_auth_methods_supported")
    if not isinstance(methods, list):
        methods = list(Provider.token_auth_methods)
    return Provider(
        issuer=issuer,
        authorization_endpoint=document["authorization_endpoint"],
        token_endpoint=document["token_endpoint"],
        jwks_uri=document["jwks_uri"],
        userinfo_endpoint=_text(document.get("userinfo_endpoint")),
        end_session_endpoint=_text(document.get("end_session_endpoint")),
        token_auth_methods=tuple(m for m in methods if isinstance(m, str)),
    )


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def signing_keys() -> list[dict[str, Any]]:
    """The provider's public keys (its JWKS), as JSON objects."""
    try:
        keys = http().call("GET", provider().jwks_uri, what="the signing keys").json().get("keys")
    except (ValueError, AttributeError):
        keys = None
    if not isinstance(keys, list):
        raise DiscoveryError("the provider's JWKS has no list of keys")
    return [key for key in keys if isinstance(key, dict)]
