"""The sign-in itself: the code exchanged for tokens, the id_token checked in full, the user found or made.

mozilla-django-oidc runs the code flow, checks the id_token's signature (RS256, with the key of the
provider's JWKS that its `kid` names) and its nonce. It does not check the issuer or the audience and
accepts a token without an expiry, so `get_payload_data` checks those too (OpenID Connect Core 3.1.3.7):
`iss` is OIDC_ISSUER, `aud` holds our client id (and `azp` is ours when there are several), `exp` and `iat`
are present, with a minute's leeway for clocks. Its outside calls go through our door (`discovery.http`)
rather than plain `requests`, and who the claims name is `accounts`' decision.

The backend answers only the callback's call (`nonce` is its credential), so password logins never reach
it, and nothing at all while SSO is off; sessions it opened end when SSO is turned off.
"""

from __future__ import annotations

import logging
from typing import Any

import jwt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import User
from django.db import transaction
from django.http import HttpRequest
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from chatops_site.sso import accounts, discovery, enabled
from chatops_site.sso.config import ALGORITHM, setting
from integrations.http import OutsideError

log = logging.getLogger("chatops.sso")

LEEWAY = 60  # seconds of clock difference allowed on `exp` and `iat`
REQUIRED_CLAIMS = ["iss", "aud", "exp", "iat", "sub"]


class Untrusted(Exception):
    """An answer of the provider failed one of our checks: the message is for the log."""


class SsoBackend(OIDCAuthenticationBackend):
    get_settings = staticmethod(setting)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Not the library's: it reads the provider's endpoints from settings, and ours are discovered at the
        # first sign-in. Django makes a backend for every login attempt, so this must stay cheap.
        self.UserModel = get_user_model()
        self.OIDC_RP_SIGN_ALGO = ALGORITHM
        self.OIDC_RP_IDP_SIGN_KEY = None

    @property
    def OIDC_RP_CLIENT_ID(self) -> str:  # the library reads these names
        return settings.OIDC_CLIENT_ID

    @property
    def OIDC_RP_CLIENT_SECRET(self) -> str:
        return settings.OIDC_CLIENT_SECRET

    def authenticate(
        self, request: HttpRequest | None, *, nonce: str | None, code_verifier: str | None = None
    ) -> User | None:
        if not enabled():
            return None
        return super().authenticate(request, nonce=nonce, code_verifier=code_verifier)

    def get_user(self, user_id: Any) -> User | None:
        # Django's rule, not the library's (which also returns deactivated users), and none while SSO is off.
        return ModelBackend.get_user(self, user_id) if enabled() else None

    # The provider, through our door

    def get_token(self, payload: dict[str, Any]) -> dict[str, Any]:
        found = discovery.provider()
        data = dict(payload)
        auth = None
        if "client_secret_post" not in found.token_auth_methods:
            auth = (data["client_id"], data.pop("client_secret"))
        answer = (
            discovery.http()
            .call("POST", found.token_endpoint, what="the token request", data=data, auth=auth, verdict=_refusal)
            .json()
        )
        if not isinstance(answer, dict) or not isinstance(answer.get("id_token"), str):
            raise Untrusted("the token answer has no id_token")
        return answer

    def retrieve_matching_jwk(self, token: str) -> jwt.PyJWK:
        header = jwt.get_unverified_header(token)
        for key in discovery.signing_keys():
            if header.get("kid") is not None and key.get("kid") != header["kid"]:
                continue
            if key.get("kty") != "RSA" or key.get("use", "sig") != "sig" or key.get("alg", ALGORITHM) != ALGORITHM:
                continue
            return jwt.PyJWK(key, ALGORITHM)
        raise Untrusted(f"no key of the provider's JWKS matches the id_token's kid {header.get('kid')!r}")

    def get_userinfo(self, access_token: str | None, id_token: str, payload: dict[str, Any]) -> dict[str, Any]:
        """The id_token's claims, with the userinfo endpoint's added (where providers put email and groups)."""
        found = discovery.provider()
        if not found.userinfo_endpoint or not access_token:
            return dict(payload)
        bearer = {"Authorization": f"Bearer {access_token}"}
        response = discovery.http().call("GET", found.userinfo_endpoint, what="the userinfo request", headers=bearer)
        if not response.headers.get("Content-Type", "").startswith("application/json"):
            log.info("SSO: the userinfo answer is not plain JSON (signed or encrypted); the id_token's claims are used")
            return dict(payload)
        info = response.json()
        # Core 5.3.2: a userinfo answer about another subject must not be used.
        if not isinstance(info, dict) or info.get("sub") != payload["sub"]:
            raise Untrusted("the userinfo answer is not about the id_token's subject")
        return {**payload, **info}

    # The checks the library leaves out

    def get_payload_data(self, token: str, key: Any) -> dict[str, Any]:
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            audience=settings.OIDC_CLIENT_ID,
            issuer=settings.OIDC_ISSUER,
            leeway=LEEWAY,
            options={"require": REQUIRED_CLAIMS},
        )
        azp = claims.get("azp")
        several = isinstance(claims["aud"], list) and len(claims["aud"]) > 1
        if (azp is not None or several) and azp != settings.OIDC_CLIENT_ID:
            raise Untrusted(f"the id_token was issued to another party (azp {azp!r})")
        return claims

    # Who it is

    def get_or_create_user(self, access_token: str | None, id_token: str, payload: dict[str, Any]) -> User:
        claims = self.get_userinfo(access_token, id_token, payload)
        with transaction.atomic():
            user = accounts.user_for(claims)
            added, removed = accounts.follow_groups(user, claims)
        log.info(
            "SSO: %s signed in as %s (groups added: %s; removed: %s)",
            claims.get("email"),
            user.get_username(),
            ", ".join(added) or "none",
            ", ".join(removed) or "none",
        )
        return user


def _refusal(response: Any) -> OutsideError:
    """The token endpoint's refusal, with the OAuth error code it names (`invalid_grant`, `invalid_client`)."""
    try:
        code = response.json().get("error")
    except (ValueError, AttributeError):
        code = None
    reason = f" ({code})" if isinstance(code, str) else ""
    return OutsideError.from_response(
        response, f"the identity provider answered {response.status_code} to the token request{reason}"
    )
