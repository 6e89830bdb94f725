"""Argo CD's REST API, as the deploy provider uses it: read an application, sync it, roll it back.

Auth is `Authorization: Bearer ARGOCD_TOKEN` (an account or project-role token). Errors come from
grpc-gateway as JSON `{"error", "code", "message"}`; Argo CD answers 403 rather than 404 for an
application the token may not see, including one that does not exist.

Calls go through the door (`integrations.http`), which retries and classifies; here is only what is
Argo CD's own: reading its error message, and the refusals it means differently.
"""

from __future__ import annotations

from urllib.parse import quote

import requests
from django.conf import settings

from integrations.http import session
from integrations.providers import ProviderError


class ArgoCDClient:
    def __init__(self) -> None:
        self.base = settings.ARGOCD_URL.rstrip("/")
        if not self.base:
            raise ProviderError("ARGOCD_URL is not set, so Argo CD targets cannot deploy", permanent=True)
        self.http = session("argocd")
        self.http.headers["Authorization"] = f"Bearer {settings.ARGOCD_TOKEN}"

    def page(self, app: str) -> str:
        """The application's page in Argo CD's web UI."""
        return f"{self.base}/applications/{quote(app, safe='')}"

    def app(self, app: str) -> dict:
        return self._call("GET", app, "", f"a read of {app}")

    def sync(self, app: str, revision: str) -> dict:
        return self._call("POST", app, "/sync", f"a sync of {app} to {revision}", json={"revision": revision})

    def rollback(self, app: str, history_id: int) -> dict:
        return self._call("POST", app, "/rollback", f"a rollback of {app}", json={"id": history_id})

    def _call(self, method: str, app: str, action: str, what: str, **kwargs) -> dict:
        url = f"{self.base}/api/v1/applications/{quote(app, safe='')}{action}"
        response = self.http.call(
            method,
            url,
            what=what,
            ok=lambda r: r.status_code == 200,
            verdict=lambda r: _refusal(r, app, what),
            unanswered=lambda exc: ProviderError(f"Argo CD did not answer ({exc.__class__.__name__})"),
            **kwargs,
        )
        try:
            return response.json()
        except ValueError:
            raise ProviderError(f"Argo CD answered {what} with something other than JSON") from None


def _refusal(response: requests.Response, app: str, what: str) -> ProviderError:
    """Argo CD's reading of its refusals; the door classifies the rest."""
    status = response.status_code
    try:
        reason = response.json().get("message") or response.json().get("error") or ""
    except (ValueError, AttributeError):
        reason = ""
    if status == 401:
        return ProviderError(f"Argo CD refused ARGOCD_TOKEN ({status}: {reason})", permanent=True)
    if status in (403, 404):
        return ProviderError(
            f"Argo CD has no application {app} that ARGOCD_TOKEN may use ({status}: {reason})", permanent=True
        )
    refused = f"Argo CD refused {what} ({status}: {reason or 'no reason given'})"
    # Another operation in progress ends on its own: Argo CD says so with 400 FailedPrecondition, or 409.
    if status == 409 or "another operation is already in progress" in reason:
        return ProviderError(refused)
    return ProviderError.from_response(response, refused)
