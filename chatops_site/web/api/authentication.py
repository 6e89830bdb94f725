"""How the API knows who calls: an ApiToken in `Authorization: Token <key>`, or the dashboard's session."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.contrib.knox_auth_token import KnoxTokenScheme
from knox.auth import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from chatops_site.web.models import ApiToken


class ApiTokenAuthentication(TokenAuthentication):
    """knox's check of the key, then a refusal that says when a token expired, and the token's last use."""

    def _cleanup_token(self, auth_token: ApiToken) -> bool:
        # knox deletes an expired token as soon as anyone sends a key that starts like it, and then answers
        # "Invalid token.". Ours stay, marked expired on their owner's profile page until revoked, and are
        # refused in validate_user, which runs only once the whole key has matched.
        return False

    def validate_user(self, auth_token: ApiToken):
        if auth_token.expired:
            raise AuthenticationFailed(
                f"This API token ({auth_token.name}) expired on {auth_token.expiry_text}: "
                "make a new one on your profile page."
            )
        user, token = super().validate_user(auth_token)
        token.mark_used(timezone.now())
        return user, token


class ApiTokenScheme(KnoxTokenScheme):
    """The OpenAPI security scheme: drf-spectacular's for knox matches knox's own class only."""

    target_class = "chatops_site.web.api.authentication.ApiTokenAuthentication"
    name = "tokenAuth"
