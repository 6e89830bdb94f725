"""The one door to GitHub's REST API (github.com or Enterprise, wherever GITHUB_API_URL points).

Every call goes through `integrations.http.session("github")`. GitHub's answers are turned into
`GitHubError`s that say whether trying again can help: server errors, rate limits and timeouts can;
a missing workflow (404) or inputs the workflow refuses (422) cannot, and keep GitHub's own message.
"""

from __future__ import annotations

import requests
from django.conf import settings

from integrations.http import session
from integrations.providers import ProviderError

API_VERSION = "2022-11-28"


class GitHubError(ProviderError):
    """GitHub refused or failed a call; `status` is its HTTP status (0 when it never answered)."""

    def __init__(self, message: str, status: int = 0, permanent: bool = False):
        super().__init__(message, permanent=permanent)
        self.status = status


def _message(response: requests.Response) -> str:
    """GitHub's own words: `message`, plus the details a 422 lists under `errors`."""
    try:
        body = response.json()
    except ValueError:
        return response.reason or f"HTTP {response.status_code}"
    if not isinstance(body, dict):
        return response.reason
    message = str(body.get("message") or response.reason)
    details = [e.get("message") or e.get("code") if isinstance(e, dict) else str(e) for e in body.get("errors", [])]
    details = [d for d in details if d and d not in message]
    return f"{message} ({'; '.join(details)})" if details else message


def _retryable(response: requests.Response) -> bool:
    if response.status_code >= 500 or response.status_code == 429:
        return True
    # GitHub answers an exhausted rate limit with 403 and a zero remaining count.
    return response.status_code == 403 and response.headers.get("X-RateLimit-Remaining") == "0"


def request(method: str, path: str, authorization: str, **kwargs) -> requests.Response:
    """Make one call with the given `Authorization` value; raise GitHubError unless GitHub says 2xx."""
    url = settings.GITHUB_API_URL.rstrip("/") + path
    headers = {
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": API_VERSION,
        "Authorization": authorization,
        **kwargs.pop("headers", {}),
    }
    try:
        response = session("github").request(method, url, headers=headers, **kwargs)
    except requests.RequestException as exc:
        raise GitHubError(f"GitHub did not answer {method} {path}: {exc.__class__.__name__}") from exc
    if response.status_code < 400:
        return response
    where = f"{response.status_code} on {method} {path}"
    raise GitHubError(
        f"GitHub: {_message(response)} ({where})", status=response.status_code, permanent=not _retryable(response)
    )
