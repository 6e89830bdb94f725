"""The two pages of a sign-in: /oidc/authenticate/ sends the browser to the provider, /oidc/callback/ takes it
back and logs the user in.

Both answer 404 while SSO is off. mozilla-django-oidc keeps the state, the nonce and the PKCE verifier in
the session (each state is used once) and follows a `next` only to this site. Every way a sign-in can
fail (the provider unreachable or refusing, an id_token failing a check, an unverified email, a state this
browser never started) ends on the login page with a sentence for the person and a log line for the admin,
never on an error page.
"""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import urlencode

import jwt
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.views.generic import View
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView, get_next_url

from chatops_site.sso import discovery, enabled
from chatops_site.sso.accounts import Refused
from chatops_site.sso.backend import Untrusted
from chatops_site.sso.config import setting
from integrations.http import OutsideError

log = logging.getLogger("chatops.sso")

OFF = "Single sign-on is not configured here: set OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET."
UNREACHABLE = "The identity provider could not be reached: try again in a moment, or log in with your password."
REFUSED = "The identity provider refused this sign-in: try again, or ask an admin."
UNVERIFIED = "The identity provider's answer failed our checks, so you are not signed in: try again, or ask an admin."
MISCONFIGURED = "Single sign-on is not set up right here: ask an admin (the server's log says why)."
NOT_STARTED = "That sign-in was not started in this browser, or was already used: sign in again."
# Everything a sign-in may raise that is the provider's doing, the person's, or the setup's; not our bugs.
FAILURES = (Refused, Untrusted, discovery.DiscoveryError, OutsideError, SuspiciousOperation, jwt.PyJWTError, ValueError)


def explain(exc: Exception) -> str:
    """What the person reads about a failed sign-in; the reason goes to the log."""
    if isinstance(exc, Refused):
        log.info("SSO sign-in refused: %s", exc)
        return str(exc)
    if isinstance(exc, discovery.DiscoveryError):
        log.error("SSO is misconfigured: %s", exc)
        return MISCONFIGURED
    if isinstance(exc, OutsideError):
        if exc.permanent:  # a 4xx: a wrong client secret (invalid_client), a code used twice (invalid_grant)
            log.error("SSO: %s", exc)
            return REFUSED
        log.warning("SSO: %s", exc)
        return UNREACHABLE
    log.warning("SSO: the provider's answer failed a check: %s: %s", exc.__class__.__name__, exc)
    return UNVERIFIED


def back_to_login(request: HttpRequest, message: str, next_url: str | None) -> HttpResponseRedirect:
    messages.error(request, message)
    target = reverse("login")
    if next_url:
        target += "?" + urlencode({"next": next_url})
    return HttpResponseRedirect(target)


class Start(OIDCAuthenticationRequestView):
    get_settings = staticmethod(setting)

    def __init__(self, **kwargs: Any) -> None:
        # Not the library's: it reads the authorization endpoint from settings; ours is discovered in `get`.
        View.__init__(self, **kwargs)
        self.OIDC_RP_CLIENT_ID = settings.OIDC_CLIENT_ID

    def get(self, request: HttpRequest) -> HttpResponse:
        if not enabled():
            raise Http404(OFF)
        try:
            self.OIDC_OP_AUTH_ENDPOINT = discovery.provider().authorization_endpoint
            return super().get(request)
        except FAILURES as exc:
            return back_to_login(request, explain(exc), get_next_url(request, "next"))


class Callback(OIDCAuthenticationCallbackView):
    get_settings = staticmethod(setting)

    def get(self, request: HttpRequest) -> HttpResponse:
        if not enabled():
            raise Http404(OFF)
        started = request.session.get("oidc_states")
        if "code" in request.GET and request.GET.get("state") not in (started if isinstance(started, dict) else {}):
            return self.login_failure()  # the library would raise, and this deserves its own sentence
        try:
            return super().get(request)
        except FAILURES as exc:
            return back_to_login(request, explain(exc), self.next_url())

    def login_failure(self) -> HttpResponse:
        """The library's own dead ends: the provider's `error`, or no sign-in of this browser to finish."""
        error = self.request.GET.get("error")
        if error:
            code = re.sub(r"[^\w.-]", "", error)[:64]
            log.info("SSO: the identity provider answered %s", code)
            message = f"The identity provider did not sign you in ({code})."
        else:
            log.info("SSO: a callback for no sign-in this browser has under way")
            message = NOT_STARTED
        return back_to_login(self.request, message, self.next_url())

    def next_url(self) -> str | None:
        """Where the sign-in was to lead (checked to be on this site when it started)."""
        return self.request.session.get("oidc_login_next")
