"""How every outside HTTP call is made: one `requests` session per system, with a timeout and manners.

Providers and webhooks all go through `session(system)`, so timeouts, rate-limit manners (429 with
Retry-After) and the per-system accounting live in one place.
"""

from __future__ import annotations

import logging
import time

import requests

from chatops_site import metrics

log = logging.getLogger("chatops.http")

TIMEOUT = 10.0  # seconds; a deploy check is re-scheduled rather than left hanging
MAX_RETRY_AFTER = 30.0  # a longer wait is reported as an error instead of holding a worker


def retry_after(response: requests.Response) -> float | None:
    """Seconds the server asked us to wait, from `Retry-After` or Discord's JSON `retry_after`."""
    value = response.headers.get("Retry-After")
    if value is None and response.headers.get("Content-Type", "").startswith("application/json"):
        try:
            value = response.json().get("retry_after")
        except (ValueError, AttributeError):
            value = None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


class OutsideSession(requests.Session):
    def __init__(self, system: str, timeout: float = TIMEOUT) -> None:
        super().__init__()
        self.system = system
        self.timeout = timeout

    def request(self, method, url, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout)
        for _ in range(3):
            with metrics.outside_call(self.system) as call:
                response = super().request(method, url, **kwargs)
                call.answered(response)
            wait = retry_after(response) if response.status_code == 429 else None
            if wait is None or wait > MAX_RETRY_AFTER:
                return response
            log.info("%s asked us to wait %.1f s before %s %s", self.system, wait, method, url)
            time.sleep(wait)
        return response


def session(system: str, timeout: float = TIMEOUT) -> OutsideSession:
    return OutsideSession(system, timeout)
