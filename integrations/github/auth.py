"""Who we are to GitHub: a GitHub App (JWT -> installation -> installation token) or a personal token.

As an App (GITHUB_APP_ID with GITHUB_APP_PRIVATE_KEY or GITHUB_APP_PRIVATE_KEY_PATH) we sign a short
JWT, find the installation serving a repository once, and mint access tokens scoped to that
repository, reused until five minutes before they expire. A personal token (GITHUB_TOKEN) serves a
single-repository setup. https://docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path

import jwt
import requests
from django.conf import settings
from django.utils import timezone

from chatops_site import crypto
from integrations.github.api import GitHubError, request
from integrations.github.models import Installation

log = logging.getLogger("chatops.github")

# GitHub refuses an App JWT that lives longer than 10 minutes or starts in the future; we
# back-date it for clock drift and keep it well inside the limit.
JWT_BACKDATE = 60
JWT_LIFETIME = 9 * 60
# Installation tokens live an hour; one this close to its end is replaced rather than used.
TOKEN_MARGIN = timedelta(minutes=5)


def app_configured() -> bool:
    return bool(settings.GITHUB_APP_ID and (settings.GITHUB_APP_PRIVATE_KEY or settings.GITHUB_APP_PRIVATE_KEY_PATH))


@cache
def _read_key(path: str) -> str:
    return Path(path).read_text()


def private_key() -> str:
    # An environment variable often carries the PEM with its newlines written as "\n".
    if settings.GITHUB_APP_PRIVATE_KEY:
        return settings.GITHUB_APP_PRIVATE_KEY.replace("\\n", "\n")
    return _read_key(settings.GITHUB_APP_PRIVATE_KEY_PATH)


def app_jwt() -> str:
    now = int(time.time())
    claims = {"iat": now - JWT_BACKDATE, "exp": now + JWT_LIFETIME, "iss": str(settings.GITHUB_APP_ID)}
    return jwt.encode(claims, private_key(), algorithm="RS256")


def _as_app(method: str, path: str, **kwargs) -> dict:
    return request(method, path, f"Bearer {app_jwt()}", **kwargs).json()


def find_installation(repository: str) -> int:
    try:
        return int(_as_app("GET", f"/repos/{repository}/installation")["id"])
    except GitHubError as exc:
        if exc.status != 404:
            raise
        raise GitHubError(f"the GitHub App is not installed on {repository} ({exc})", 404, permanent=True) from exc


def _mint(installation_id: int, repository: str) -> tuple[str, datetime]:
    name = repository.split("/", 1)[1]
    answer = _as_app("POST", f"/app/installations/{installation_id}/access_tokens", json={"repositories": [name]})
    return answer["token"], datetime.fromisoformat(answer["expires_at"].replace("Z", "+00:00"))


def installation_token(repository: str) -> str:
    """A token for this repository: the cached one while it is fresh, else a new one."""
    repository = repository.lower()
    known = Installation.objects.filter(repository=repository).first()
    if known and known.token and known.token_expires_at and known.token_expires_at - timezone.now() > TOKEN_MARGIN:
        try:
            return crypto.decrypt(known.token)
        except crypto.CannotDecrypt:
            log.info("the cached token for %s was encrypted with another key; minting a new one", repository)
    installation_id = known.installation_id if known else find_installation(repository)
    try:
        token, expires_at = _mint(installation_id, repository)
    except GitHubError as exc:
        if not (known and exc.status == 404):
            raise
        log.info("installation %s no longer serves %s; looking it up again", installation_id, repository)
        installation_id = find_installation(repository)
        token, expires_at = _mint(installation_id, repository)
    Installation.objects.update_or_create(
        repository=repository,
        defaults={"installation_id": installation_id, "token": crypto.encrypt(token), "token_expires_at": expires_at},
    )
    return token


def forget_token(repository: str) -> None:
    Installation.objects.filter(repository=repository.lower()).update(token="", token_expires_at=None)


def authorization(repository: str) -> str:
    """The `Authorization` header for calls about this repository."""
    if app_configured():
        return f"Bearer {installation_token(repository)}"
    if settings.GITHUB_TOKEN:
        return f"Bearer {settings.GITHUB_TOKEN}"
    raise GitHubError(
        "GitHub is not configured: set GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY (or _PATH), or GITHUB_TOKEN",
        permanent=True,
    )


def call(repository: str, method: str, path: str, **kwargs) -> requests.Response:
    """A call about a repository with the right credentials; a token GitHub stopped accepting is replaced once."""
    try:
        return request(method, path, authorization(repository), **kwargs)
    except GitHubError as exc:
        if exc.status != 401 or not app_configured():
            raise
        log.info("GitHub refused the cached token for %s; minting a new one", repository)
        forget_token(repository)
        return request(method, path, authorization(repository), **kwargs)
