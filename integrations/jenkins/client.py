"""Jenkins' remote API, as the deploy provider uses it: queue a build, read a queue item, a build or a job.

Auth is HTTP Basic with JENKINS_USER and JENKINS_API_TOKEN. Jenkins exempts requests made with an API
token from CSRF protection, so no crumb is needed. When the secret is a password instead, Jenkins refuses
the trigger for want of a crumb; we then fetch one (it is bound to a web session, so the session cookie
goes along: our `requests` session keeps it) and try once more.
https://www.jenkins.io/doc/book/security/csrf-protection/

The credentials go to JENKINS_URL's origin only. Jenkins names queue items (in `Location`) and builds by
absolute URLs made from its own configured root URL; one on another origin is refused, not called with
them (and `requests` already drops them on a redirect to another origin).

Calls go through the door (`integrations.http`), which retries and classifies; here is only what is
Jenkins' own: the answers it reads itself, and refusals worth a hint.
"""

from __future__ import annotations

from urllib.parse import quote, urljoin, urlsplit

import requests
from django.conf import settings

from integrations.http import session
from integrations.providers import ProviderError


def job_path(full_name: str) -> str:
    """`platform/deploy-api` -> `/job/platform/job/deploy-api/`: folders nest as /job/<name>/ segments."""
    parts = [part for part in full_name.strip("/").split("/") if part]
    return "".join(f"/job/{quote(part, safe='')}" for part in parts) + "/"


class JenkinsClient:
    def __init__(self) -> None:
        self.base = settings.JENKINS_URL.rstrip("/")
        if not self.base:
            raise ProviderError("JENKINS_URL is not set, so Jenkins targets cannot deploy", permanent=True)
        self.http = session("jenkins")
        if settings.JENKINS_USER:
            self.http.auth = (settings.JENKINS_USER, settings.JENKINS_API_TOKEN)

    def job_url(self, job: str) -> str:
        return self.base + job_path(job)

    def trigger(self, job: str, parameters: dict[str, str]) -> str:
        """Queue a build of `job`; returns the queue item's URL."""
        url = self.job_url(job) + "buildWithParameters"
        what = f"the trigger of {job}"
        # Jenkins answers 201, or 303 when it merged the request into an item already queued; both name
        # the item in Location. Following the 303 would lose that header.
        options = {"data": parameters, "allow_redirects": False}
        response = self._call("POST", url, what, ok=lambda r: _triggered(r) or _wants_crumb(r), **options)
        if _wants_crumb(response):
            response = self._call("POST", url, what, ok=_triggered, headers=self._crumb(), **options)
        if response.status_code == 404:
            raise ProviderError(f"Jenkins has no job {job} (nothing at {self.job_url(job)})", permanent=True)
        location = response.headers.get("Location")
        if not location:
            raise ProviderError(f"Jenkins queued {job} but did not say where (no Location header)", permanent=True)
        return self._ours(urljoin(url, location), f"the queue item of {job}")

    def read(self, url: str, what: str, **params) -> dict | None:
        """The `api/json` of a Jenkins object (queue item, build, job), or None when Jenkins does not know it."""
        response = self._call(
            "GET", url.rstrip("/") + "/api/json", f"a read of {what}", ok=_read, params=params or None
        )
        if response.status_code == 404:
            return None
        try:
            return response.json()
        except ValueError:
            raise ProviderError(f"Jenkins answered a read of {what} with something other than JSON") from None

    def _crumb(self) -> dict[str, str]:
        issued = self.read(self.base + "/crumbIssuer", "a CSRF crumb")
        if not issued:
            raise ProviderError("Jenkins asked for a CSRF crumb but has no crumb issuer", permanent=True)
        return {issued["crumbRequestField"]: issued["crumb"]}

    def _ours(self, url: str, what: str) -> str:
        """`url`, when the credentials may go there: the origin `requests` would keep them for on a redirect."""
        try:
            elsewhere = self.http.should_strip_auth(self.base, url)
        except ValueError:  # a port that is no number
            elsewhere = True
        if elsewhere:
            raise ProviderError(
                f"Jenkins named {urlsplit(url).netloc.rpartition('@')[2]} for {what}, but its credentials go only to "
                f"JENKINS_URL ({self.base}): refused (set JENKINS_URL to the root URL Jenkins is configured with)",
                permanent=True,
            )
        return url

    def _call(self, method: str, url: str, what: str, **kwargs) -> requests.Response:
        return self.http.call(
            method,
            self._ours(url, what),
            what=what,
            verdict=lambda response: _refusal(response, what),
            unanswered=lambda exc: ProviderError(f"Jenkins did not answer ({exc.__class__.__name__})"),
            **kwargs,
        )


def _triggered(response: requests.Response) -> bool:
    """Answers `trigger` reads itself: queued (201, 303), or no such job (404)."""
    return response.status_code in (201, 303, 404)


def _read(response: requests.Response) -> bool:
    """Answers `read` reads itself: the object (200), or none such (404)."""
    return response.status_code in (200, 404)


def _wants_crumb(response: requests.Response) -> bool:
    return response.status_code == 403 and "crumb" in response.text.lower()


def _refusal(response: requests.Response, what: str) -> ProviderError:
    """Jenkins' refusals, with a hint where one helps; the door classifies the rest."""
    status = response.status_code
    if status in (401, 403):
        return ProviderError(
            f"Jenkins refused {what} ({status}): check JENKINS_USER, JENKINS_API_TOKEN and the user's "
            "permissions on the job",
            permanent=True,
        )
    if status == 500 and "not parameterized" in response.text:
        return ProviderError(
            f"{what} failed: the job takes no parameters; add string parameters SERVICE, ENV, VERSION "
            "and DEPLOYMENT_ID",
            permanent=True,
        )
    return ProviderError.from_response(response, f"Jenkins answered {status} to {what}")
