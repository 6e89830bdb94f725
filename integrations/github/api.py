"""The one door to GitHub's REST API (github.com or Enterprise, wherever GITHUB_API_URL points).

Every call goes through the door, `integrations.http.session("github").call`, which decides what is
retried. Here is only what is GitHub's own: its error message (with the details a 422 lists), and its
exhausted rate limit, which it answers with 403 rather than 429. A missing workflow (404) or inputs the
workflow refuses (422) will not mend by asking again.
"""

from __future__ import annotations

import time

import requests
from django.conf import settings

from integrations.http import retry_after, session
from integrations.providers import ProviderError

API_VERSION = "2022-11-28"


class GitHubError(ProviderError):
    """GitHub refused or failed a call; `status` is its HTTP status (0 when it never answered)."""

    def __init__(self, message: str, status: int = 0, permanent: bool = False, *, retry_after: float | None = None):
        super().__init__(message, permanent, system="github", status=status, retry_after=retry_after)


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


def _rate_limit_ends(response: requests.Response) -> float:
    """Seconds until an exhausted rate limit resets; GitHub asks for at least a minute when it does not say.
    https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api#exceeding-the-rate-limit
    """
    named = retry_after(response)
    if named is not None:
        return named
    try:
        return max(0.0, float(response.headers["X-RateLimit-Reset"]) - time.time())
    except (KeyError, ValueError):
        return 60.0


def _verdict(response: requests.Response, where: str) -> GitHubError:
    message = f"GitHub: {_message(response)} ({response.status_code} on {where})"
    # GitHub answers an exhausted rate limit with 403 and a zero remaining count.
    if response.status_code == 403 and response.headers.get("X-RateLimit-Remaining") == "0":
        return GitHubError(message, 403, retry_after=_rate_limit_ends(response))
    return GitHubError.from_response(response, message)


def request(method: str, path: str, authorization: str, **kwargs) -> requests.Response:
    """A call with the given `Authorization` value, retried as the door allows; GitHubError unless GitHub accepts it."""
    url = settings.GITHUB_API_URL.rstrip("/") + path
    headers = {
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": API_VERSION,
        "Authorization": authorization,
        **kwargs.pop("headers", {}),
    }
    where = f"{method} {path}"
    return session("github").call(
        method,
        url,
        what=where,
        verdict=lambda response: _verdict(response, where),
        unanswered=lambda exc: GitHubError(f"GitHub did not answer {where}: {exc.__class__.__name__}"),
        headers=headers,
        **kwargs,
    )
