"""An OpenID Connect provider as a relying party meets one: discovery, JWKS, authorize, token and userinfo.

It checks what a real provider checks. At `/authorize`: the client, the registered redirect URI, the
`openid` scope, a state, a nonce and an S256 PKCE challenge. At `/token`: the client's credentials (Basic,
or in the form), the code (known, unused, for that redirect URI) and the PKCE verifier. At `/userinfo`:
the access token. Its id_tokens are RS256-signed with a key made once per test session and published at
`/jwks`.

`people` are its accounts; `sign_in_as(login)` says who is signed in at the provider (the browser's session
there, so `/authorize` answers at once with a code). A test breaks it as a faulty or hostile provider
would: `id_token_changes` rewrites claims of the id_tokens it issues (None removes one), `signing_key`
signs them with another key, `discovery` edits its discovery document.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import secrets
import time
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from urllib.parse import urlencode

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.stubs import Answer, Call, StubServer

CLIENT_ID = "chatops-dashboard"
CLIENT_SECRET = "stub-client-secret"
REDIRECT_URI = "http://testserver/oidc/callback/"
KID = "stub-key-1"
TOKEN_LIFETIME = 300


@cache
def provider_key() -> rsa.RSAPrivateKey:
    """One RSA key per test session: generating one takes a while."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@cache
def stranger_key() -> rsa.RSAPrivateKey:
    """A key the provider does not publish."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    return {**jwk, "kid": kid, "use": "sig", "alg": "RS256"}


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def oauth_error(code: str, status: int = 400) -> Answer:
    return Answer(status, {"error": code})


@dataclass
class Person:
    """An account at the provider and the claims it gives about it (None: the claim is left out)."""

    sub: str
    email: str | None
    email_verified: Any = True
    preferred_username: str | None = None
    groups: list[str] | None = field(default_factory=list)
    given_name: str | None = None
    family_name: str | None = None

    def profile(self) -> dict[str, Any]:
        """What userinfo says: the email and profile scopes (groups are in the id_token only, as many put them)."""
        claims = {
            "sub": self.sub,
            "email": self.email,
            "email_verified": self.email_verified,
            "preferred_username": self.preferred_username,
            "given_name": self.given_name,
            "family_name": self.family_name,
        }
        return {name: value for name, value in claims.items() if value is not None}


@dataclass
class Code:
    person: Person
    redirect_uri: str
    nonce: str
    challenge: str
    used: bool = False


class OidcProvider(StubServer):
    def __init__(self) -> None:
        super().__init__()
        self.people: dict[str, Person] = {}
        self.signed_in: Person | None = None
        self.codes: dict[str, Code] = {}
        self.access_tokens: dict[str, Person] = {}
        self.id_token_changes: dict[str, Any] = {}
        self.signing_key = provider_key()
        self.discovery: dict[str, Any] = {}
        self._subs = itertools.count(1)
        self.route("GET", r"/\.well-known/openid-configuration", self._discovery)
        self.route("GET", r"/jwks", lambda call: {"keys": [public_jwk(provider_key(), KID)]})
        self.route("GET", r"/authorize", self._authorize)
        self.route("POST", r"/token", self._token)
        self.route("GET", r"/userinfo", self._userinfo)

    @property
    def issuer(self) -> str:
        return self.url

    def add(self, login: str, email: str | None = None, **claims: Any) -> Person:
        """An account: `add("erin", groups=["viewers"])`, email `erin@example.com` verified unless said otherwise."""
        person = Person(
            sub=f"sub-{next(self._subs)}",
            email=email if email is not None else f"{login}@example.com",
            preferred_username=login,
            **claims,
        )
        self.people[login] = person
        return person

    def sign_in_as(self, login: str) -> Person:
        self.signed_in = self.people[login]
        return self.signed_in

    def _discovery(self, call: Call) -> dict[str, Any]:
        document = {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.url}/authorize",
            "token_endpoint": f"{self.url}/token",
            "userinfo_endpoint": f"{self.url}/userinfo",
            "jwks_uri": f"{self.url}/jwks",
            "end_session_endpoint": f"{self.url}/logout",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
        }
        document.update(self.discovery)
        return {name: value for name, value in document.items() if value is not None}

    def _authorize(self, call: Call) -> Answer:
        asked = {name: values[-1] for name, values in call.query.items()}
        if asked.get("client_id") != CLIENT_ID:
            return Answer(400, "unknown client")
        if asked.get("redirect_uri") != REDIRECT_URI:
            return Answer(400, "redirect_uri is not registered for this client")
        if asked.get("response_type") != "code" or "openid" not in asked.get("scope", "").split():
            return Answer(400, "only the code flow, with the openid scope")
        if not asked.get("state") or not asked.get("nonce"):
            return Answer(400, "state and nonce are required")
        if asked.get("code_challenge_method") != "S256" or not asked.get("code_challenge"):
            return Answer(400, "PKCE with S256 is required")
        if self.signed_in is None:
            return Answer(200, "the provider's own login page")
        code = secrets.token_urlsafe(16)
        self.codes[code] = Code(self.signed_in, asked["redirect_uri"], asked["nonce"], asked["code_challenge"])
        back = f"{asked['redirect_uri']}?{urlencode({'code': code, 'state': asked['state']})}"
        return Answer(302, "", {"Location": back})

    def _client_authenticated(self, call: Call, form: dict[str, str]) -> bool:
        basic = call.header("authorization")
        if basic.startswith("Basic "):
            client_id, _, secret = base64.b64decode(basic.removeprefix("Basic ")).decode().partition(":")
        else:
            client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        return client_id == CLIENT_ID and secret == CLIENT_SECRET

    def _token(self, call: Call) -> Answer:
        form = call.form()
        if not self._client_authenticated(call, form):
            return oauth_error("invalid_client", 401)
        if form.get("grant_type") != "authorization_code":
            return oauth_error("unsupported_grant_type")
        code = self.codes.get(form.get("code", ""))
        if code is None or code.used or code.redirect_uri != form.get("redirect_uri"):
            return oauth_error("invalid_grant")
        if s256(form.get("code_verifier", "")) != code.challenge:
            return oauth_error("invalid_grant")
        code.used = True
        access_token = secrets.token_urlsafe(16)
        self.access_tokens[access_token] = code.person
        return Answer(
            200,
            {
                "access_token": access_token,
                "token_type": "Bearer",
                "expires_in": TOKEN_LIFETIME,
                "id_token": self.id_token(code.person, code.nonce),
            },
        )

    def id_token(self, person: Person, nonce: str) -> str:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "sub": person.sub,
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + TOKEN_LIFETIME,
            "nonce": nonce,
            **person.profile(),
        }
        if person.groups is not None:
            claims["groups"] = person.groups
        claims.update(self.id_token_changes)
        claims = {name: value for name, value in claims.items() if value is not None}
        return jwt.encode(claims, self.signing_key, algorithm="RS256", headers={"kid": KID})

    def _userinfo(self, call: Call) -> Answer:
        person = self.access_tokens.get(call.header("authorization").removeprefix("Bearer "))
        if person is None:
            return Answer(401, {"error": "invalid_token"})
        return Answer(200, person.profile())
