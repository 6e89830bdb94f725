"""The one door to outside HTTP systems: timeouts, accounting, retries and the verdict on a failed call.

`session(system).call(method, url, what=...)` returns an acceptable answer or raises `OutsideError`,
which says whether asking again later can help. A client adds only what is its own, as hooks: `ok` (which
answers it accepts), `verdict` (how to read its system's refusals and the few that system means
differently), `unanswered` (how to say that the system never answered).

Retry policy, for the calls made through `call`:
- 429 (rate limited): the request was not processed, so it is asked again whatever the method, after the
  wait the server names (`Retry-After`, or Discord's JSON `retry_after`) when that is at most
  MAX_RETRY_AFTER. A longer wait, or none named, is raised as a transient error with `retry_after`, so
  the caller reschedules instead of holding a worker. A verdict may call other answers rate limited by
  giving them a `retry_after` (GitHub's exhausted limit is a 403).
- 5xx, timeouts, lost connections: asked again after 0.5 s, then 1 s (ATTEMPTS in all), only for
  idempotent methods. A POST is asked again only when the connection could not even be made: one that may
  have reached the server could start a deploy twice.
- Anything else a client does not accept is permanent and raised at once.
Plain `requests` calls on a session (`get`, `post`, `request`) are made once and counted, nothing more.
Log lines and error messages name the system and `what`, never the URL: Slack response URLs, Discord
webhook URLs and interaction tokens are credentials.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from chatops_site import metrics

log = logging.getLogger("chatops.http")

TIMEOUT = 10.0  # seconds; a deploy check is re-scheduled rather than left hanging
MAX_RETRY_AFTER = 30.0  # a longer wait is reported as an error instead of holding a worker
ATTEMPTS = 3
BACKOFF = (0.5, 1.0)  # seconds before the second and the third attempt
# All our PATCHes are full edits, so asking twice leaves the same result.
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH"})

sleep = time.sleep  # tests replace it to skip the waits


class OutsideError(Exception):
    """An outside system failed or refused a call; `status` is its HTTP status, 0 when it never answered.

    `permanent` errors will not mend by asking again; `retry_after` is the wait a rate limit asked for.
    """

    def __init__(
        self,
        message: str,
        *,
        system: str = "",
        status: int = 0,
        permanent: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.system = system
        self.status = status
        self.permanent = permanent
        self.retry_after = retry_after

    @classmethod
    def from_response(cls, response: requests.Response, message: str):
        """The door's verdict on an answer a client did not accept, in the client's words."""
        status = response.status_code
        if status == 429:
            return cls(message, status=status, retry_after=retry_after(response))
        return cls(message, status=status, permanent=status < 500)

    @property
    def rate_limited(self) -> bool:
        return self.status == 429 or self.retry_after is not None


def retry_after(response: requests.Response) -> float | None:
    """Seconds the server asked us to wait, from `Retry-After` (seconds or a date) or Discord's JSON `retry_after`."""
    value = response.headers.get("Retry-After")
    if value is None and response.headers.get("Content-Type", "").startswith("application/json"):
        try:
            value = response.json().get("retry_after")
        except (ValueError, AttributeError):
            value = None
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def _never_sent(exc: requests.RequestException) -> bool:
    """The connection could not be made, so the server cannot have seen the request."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(exc, requests.ConnectionError) and isinstance(reason, NewConnectionError | ConnectTimeoutError)


def _wait(error: OutsideError, method: str, attempt: int, cause: requests.RequestException | None) -> float | None:
    """The retry policy above: seconds to wait before asking again, or None to raise the error now."""
    if attempt == ATTEMPTS or error.permanent:
        return None
    if error.rate_limited:
        short = error.retry_after is not None and error.retry_after <= MAX_RETRY_AFTER
        return error.retry_after if short else None
    if cause is not None and _never_sent(cause):
        return BACKOFF[attempt - 1]
    if method in IDEMPOTENT and (cause is None or isinstance(cause, requests.ConnectionError | requests.Timeout)):
        return BACKOFF[attempt - 1]
    return None


def _accepted(response: requests.Response) -> bool:
    return response.status_code < 400


class OutsideSession(requests.Session):
    def __init__(self, system: str, timeout: float = TIMEOUT) -> None:
        super().__init__()
        self.system = system
        self.timeout = timeout

    def call(
        self,
        method: str,
        url: str,
        *,
        what: str,
        ok: Callable[[requests.Response], bool] | None = None,
        verdict: Callable[[requests.Response], OutsideError | None] | None = None,
        unanswered: Callable[[requests.RequestException], OutsideError] | None = None,
        **kwargs,
    ) -> requests.Response:
        """Make the call, asking again what the retry policy allows; the answer `ok` accepts, or OutsideError.

        `what` names the call in errors and logs ("a sync of web-staging"). `verdict` turns an answer
        into the client's own error (None: the door's); `unanswered` does so when no answer came.
        """
        method = method.upper()
        attempt = 0
        while True:
            attempt += 1
            cause = None
            try:
                response = self.request(method, url, **kwargs)
            except requests.RequestException as exc:
                cause = exc
                error = unanswered(exc) if unanswered else self._unanswered(exc, what)
            else:
                if (ok or _accepted)(response):
                    return response
                error = (verdict and verdict(response)) or OutsideError.from_response(
                    response, f"{self.system} answered {response.status_code} to {what}"
                )
                error.status = error.status or response.status_code
            error.system = error.system or self.system
            wait = _wait(error, method, attempt, cause)
            if wait is None:
                raise error from cause
            log.info("%s: %s failed (%s); trying again in %.1f s", self.system, what, error.status or "no answer", wait)
            sleep(wait)

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        """One try, with our timeout, timed and counted in /metrics; asking again is `call`'s decision."""
        kwargs.setdefault("timeout", self.timeout)
        with metrics.outside_call(self.system) as counted:
            response = super().request(method, url, *args, **kwargs)
            counted.answered(response)
        return response

    def _unanswered(self, exc: requests.RequestException, what: str) -> OutsideError:
        return OutsideError(f"{self.system} did not answer {what} ({exc.__class__.__name__})")


def session(system: str, timeout: float = TIMEOUT) -> OutsideSession:
    return OutsideSession(system, timeout)
