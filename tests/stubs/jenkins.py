"""A Jenkins stand-in: jobs (also in folders) whose queue items and builds follow a script.

It checks what Jenkins checks: HTTP Basic with the user's API token or password, and, for a password,
a CSRF crumb together with the web-session cookie it was issued for. `buildWithParameters` answers 201
(or 303, as newer cores do for a merged request) with the queue item in `Location`.

    with JenkinsStub() as jenkins:
        jenkins.job("platform/deploy-api", waits=1, runs=2, result="FAILURE")
"""

from __future__ import annotations

import base64
import itertools
import secrets
from dataclasses import dataclass, field
from http.cookies import SimpleCookie

from tests.stubs import Answer, Call, StubServer


@dataclass
class Job:
    """How the builds of one job go: `waits` queue polls before the build starts, `runs` polls while it runs."""

    name: str
    waits: int = 0
    runs: int = 0
    result: str = "SUCCESS"
    cancelled: bool = False  # someone cancels the queue item after its waits
    forgotten: bool = False  # Jenkins forgets the item as soon as it leaves the queue
    builds: list[Build] = field(default_factory=list)


@dataclass
class Build:
    job: Job
    number: int
    parameters: dict[str, str]
    polls: int = 0


@dataclass
class Item:
    job: Job
    parameters: dict[str, str]
    polls: int = 0
    build: Build | None = None


def job_name(path: str) -> str:
    """`job/platform/job/deploy-api` (as matched after the first `/`) -> `platform/deploy-api`."""
    return "/".join(part for part in path.split("/") if part not in ("", "job"))


class JenkinsStub(StubServer):
    user = "deployer"
    token = "jenkins-api-token"
    password = "hunter2"

    def __init__(self) -> None:
        super().__init__()
        self.trigger_status = 201
        self.jobs: dict[str, Job] = {}
        self.items: dict[int, Item] = {}
        self.crumbs: dict[str, str] = {}  # session cookie value -> crumb
        self._ids = itertools.count(101)
        self.route("GET", r"/crumbIssuer/api/json", self._crumb)
        self.route("POST", r"/(?P<job>(job/[^/]+/)+)buildWithParameters", self._trigger)
        self.route("GET", r"/queue/item/(?P<id>\d+)/api/json", self._item)
        self.route("GET", r"/queue/api/json", self._queue)
        self.route("GET", r"/(?P<job>(job/[^/]+/)+)api/json", self._job)
        self.route("GET", r"/(?P<job>(job/[^/]+/)+)(?P<number>\d+)/api/json", self._build)

    def job(self, name: str, **script) -> Job:
        self.jobs[name] = Job(name, **script)
        return self.jobs[name]

    def triggers(self) -> list[Call]:
        return [c for c in self.calls if c.method == "POST" and c.path.endswith("/buildWithParameters")]

    # Auth, as Jenkins does it

    def _credential(self, call: Call) -> str | None:
        """ "token" or "password" for good Basic credentials, else None."""
        kind, _, encoded = call.header("Authorization").partition(" ")
        if kind != "Basic":
            return None
        user, _, secret = base64.b64decode(encoded).decode().partition(":")
        if user == self.user and secret == self.token:
            return "token"
        if user == self.user and secret == self.password:
            return "password"
        return None

    def _refusal(self, call: Call) -> Answer | None:
        credential = self._credential(call)
        if credential is None:
            return Answer(401, "<html>Invalid password/token for user</html>")
        if credential == "password" and call.method == "POST":
            cookie = SimpleCookie(call.header("Cookie")).get("JSESSIONID.stub")
            crumb = self.crumbs.get(cookie.value) if cookie else None
            if crumb is None or call.header("Jenkins-Crumb") != crumb:
                return Answer(403, "<html>HTTP ERROR 403 No valid crumb was included in the request</html>")
        return None

    # Routes

    def _crumb(self, call: Call):
        if refusal := self._refusal(call):
            return refusal
        web_session, crumb = secrets.token_hex(8), secrets.token_hex(16)
        self.crumbs[web_session] = crumb
        return Answer(
            200,
            {"_class": "hudson.security.csrf.DefaultCrumbIssuer", "crumb": crumb, "crumbRequestField": "Jenkins-Crumb"},
            {"Set-Cookie": f"JSESSIONID.stub={web_session}; Path=/; HttpOnly"},
        )

    def _trigger(self, call: Call):
        if refusal := self._refusal(call):
            return refusal
        job = self.jobs.get(job_name(call.match["job"]))
        if job is None:
            return Answer(404, "<html>Not Found</html>")
        item_id = next(self._ids)
        self.items[item_id] = Item(job, call.form())
        return Answer(self.trigger_status, "", {"Location": f"{self.url}/queue/item/{item_id}/"})

    def _queue(self, call: Call):
        """What waits in the queue: items whose build has not started, with their job and parameters."""
        if refusal := self._refusal(call):
            return refusal
        waiting = [(item_id, item) for item_id, item in self.items.items() if item.build is None]
        return {
            "items": [
                {
                    "url": f"queue/item/{item_id}/",
                    "task": {"name": item.job.name.rsplit("/", 1)[-1], "url": self._job_url(item.job)},
                    "actions": [{"parameters": [{"name": k, "value": v} for k, v in item.parameters.items()]}],
                }
                for item_id, item in waiting
            ]
        }

    def _item(self, call: Call):
        if refusal := self._refusal(call):
            return refusal
        item = self.items.get(int(call.match["id"]))
        if item is None:
            return Answer(404, "<html>Not Found</html>")
        item.polls += 1
        job = item.job
        waiting = {"id": int(call.match["id"]), "cancelled": False, "executable": None}
        if item.polls <= job.waits:
            return {**waiting, "why": "Waiting for next available executor", "blocked": False, "buildable": True}
        if job.cancelled:
            return {**waiting, "cancelled": True, "why": None}
        if item.build is None:
            item.build = Build(job, len(job.builds) + 1, item.parameters)
            job.builds.append(item.build)
        if job.forgotten:
            del self.items[int(call.match["id"])]
            return Answer(404, "<html>Not Found</html>")
        return {**waiting, "why": None, "executable": {"number": item.build.number, "url": self._build_url(item.build)}}

    def _job(self, call: Call):
        if refusal := self._refusal(call):
            return refusal
        job = self.jobs.get(job_name(call.match["job"]))
        if job is None:
            return Answer(404, "<html>Not Found</html>")
        builds = [
            {
                "url": self._build_url(build),
                "actions": [{}, {"parameters": [{"name": k, "value": v} for k, v in build.parameters.items()]}],
            }
            for build in reversed(job.builds)
        ]
        return {"name": job.name.rsplit("/", 1)[-1], "fullName": job.name, "builds": builds}

    def _build(self, call: Call):
        if refusal := self._refusal(call):
            return refusal
        job = self.jobs.get(job_name(call.match["job"]))
        number = int(call.match["number"])
        if job is None or not 0 < number <= len(job.builds):
            return Answer(404, "<html>Not Found</html>")
        build = job.builds[number - 1]
        build.polls += 1
        running = build.polls <= job.runs
        return {
            "number": number,
            "url": self._build_url(build),
            "building": running,
            "result": None if running else job.result,
        }

    def _build_url(self, build: Build) -> str:
        return f"{self._job_url(build.job)}{build.number}/"

    def _job_url(self, job: Job) -> str:
        return self.url + "".join(f"/job/{part}" for part in job.name.split("/")) + "/"
