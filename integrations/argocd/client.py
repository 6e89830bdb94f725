"""Argo CD's REST API, as the deploy provider uses it: read an application, sync it, roll it back.

Auth is `Authorization: Bearer ARGOCD_TOKEN` (an account or project-role token). Errors come from
grpc-gateway as JSON `{"error", "code", "message"}`; Argo CD answers 403 rather than 404 for an
application the token may not see, including one that does not exist.
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
        try:
            response = self.http.request(method, url, **kwargs)
        except requests.RequestException as exc:
            raise ProviderError(f"Argo CD did not answer ({exc.__class__.__name__})") from exc
        if response.status_code == 200:
            try:
                return response.json()
            except ValueError:
                raise ProviderError(f"Argo CD answered {what} with something other than JSON") from None
        raise self._refusal(response, app, what)

    @staticmethod
    def _refusal(response: requests.Response, app: str, what: str) -> ProviderError:
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
        # Another operation in progress ends on its own (Argo CD says so with 400 FailedPrecondition, or
        # 409); server errors and a lasting 429 may mend too. Other refusals (e.g. auto-sync forbids the
        # revision) will not.
        busy = status == 409 or "another operation is already in progress" in reason
        transient = busy or status == 429 or status >= 500
        return ProviderError(
            f"Argo CD refused {what} ({status}: {reason or 'no reason given'})", permanent=not transient
        )
