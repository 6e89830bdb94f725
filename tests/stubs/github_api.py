"""GitHub's REST API as a GitHub App and its deploy provider use it, checking credentials as GitHub does.

App endpoints accept only a JWT signed RS256 with the App's key (verified with the public key, `iss`
the App id, at most 10 minutes long); repository endpoints accept only an unexpired installation token
minted for that repository. Workflow dispatches create runs that tests then move along.
"""

from __future__ import annotations

import itertools
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.stubs import Answer, Call, StubServer

RUN_NAME = "Deploy {service} {version} to {environment} (#{deployment_id})"
INPUTS = {"service", "environment", "version", "deployment_id"}
REPO = r"/repos/(?P<repo>[^/]+/[^/]+)"
DISPATCHES = REPO + r"/actions/workflows/(?P<workflow>[^/]+)/dispatches"


@cache
def app_key() -> rsa.RSAPrivateKey:
    """One RSA key per test session: generating one takes a while."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def now() -> datetime:
    return datetime.now(UTC)


def denied(message: str, status: int = 401) -> Answer:
    return Answer(status, {"message": message, "documentation_url": "https://docs.github.com/rest"})


@dataclass
class Grant:
    """An installation token the stub minted."""

    installation_id: int
    repositories: set[str]
    expires_at: datetime


class GitHubStub(StubServer):
    def __init__(self, app_id: str = "4242", installations: dict[str, int] | None = None) -> None:
        super().__init__()
        self.app_id = app_id
        self.private_pem = pem(app_key())
        self.public_key = app_key().public_key()
        # repository (owner/name) -> installation id; repositories missing here have no installation.
        self.installations = installations or {"acme/web-app": 7001, "acme/api": 7001, "acme/worker": 7002}
        self.workflows = {"deploy.yml": 161335}  # file name -> workflow id, in every repository
        self.tokens: dict[str, Grant] = {}
        self.token_lifetime = timedelta(hours=1)
        self.run_details = True  # answer dispatches with the run (github.com); False: 204 as older servers
        self.hidden_lists = 0  # the next N run listings show nothing, as just after a dispatch
        self.runs: dict[int, dict] = {}
        self._ids = itertools.count(30433642)
        self._run_lock = threading.Lock()
        self.route("GET", REPO + r"/installation", self._installation)
        self.route("POST", r"/app/installations/(?P<id>\d+)/access_tokens", self._access_token)
        self.route("POST", DISPATCHES, self._dispatch)
        self.route("GET", REPO + r"/actions/workflows/(?P<workflow>[^/]+)/runs", self._list_runs)
        self.route("GET", REPO + r"/actions/runs/(?P<id>\d+)", self._get_run)
        self.route("GET", REPO + r"/actions/runs/(?P<id>\d+)/artifacts", self._artifacts)

    # What tests do to the world

    def add_run(self, repository: str, title: str, event: str = "workflow_dispatch", **fields) -> dict:
        """A run that someone or something else started."""
        with self._run_lock:
            run_id = next(self._ids)
            run = {
                "id": run_id,
                "name": "deploy",
                "display_title": title,
                "event": event,
                "status": "queued",
                "conclusion": None,
                "path": ".github/workflows/deploy.yml",
                "workflow_id": self.workflows["deploy.yml"],
                "head_branch": "main",
                "head_sha": uuid.uuid4().hex + uuid.uuid4().hex[:8],
                "run_number": run_id % 1000,
                "run_attempt": 1,
                "html_url": f"https://github.com/{repository}/actions/runs/{run_id}",
                "created_at": iso(now()),
                "repository": {"full_name": repository, "html_url": f"https://github.com/{repository}"},
                "artifacts": [],
                **fields,
            }
            self.runs[run["id"]] = run
        return run

    def finish(self, run_id: int, conclusion: str = "success", artifacts: tuple[str, ...] = ()) -> dict:
        run = self.runs[run_id]
        run.update(status="completed", conclusion=conclusion, artifacts=[{"name": a} for a in artifacts])
        return run

    # Credentials

    def _check_app(self, call: Call) -> Answer | None:
        scheme, _, token = call.header("authorization").partition(" ")
        if scheme != "Bearer":
            return denied("A JSON web token could not be decoded")
        try:
            claims = jwt.decode(
                token, self.public_key, algorithms=["RS256"], options={"require": ["iat", "exp", "iss"]}
            )
        except jwt.InvalidTokenError as exc:
            return denied(f"A JSON web token could not be decoded ({exc})")
        if str(claims["iss"]) != self.app_id:
            return denied("Integration not found", 404)
        if claims["exp"] - claims["iat"] > 600:
            return denied("'Expiration time' claim ('exp') is too far in the future")
        return None

    def _check_token(self, call: Call, repository: str) -> Answer | None:
        scheme, _, token = call.header("authorization").partition(" ")
        grant = self.tokens.get(token) if scheme in ("Bearer", "token") else None
        if grant is None or grant.expires_at <= now():
            return denied("Bad credentials")
        if repository not in grant.repositories:
            return denied("Not Found", 404)
        return None

    # Endpoints

    def _installation(self, call: Call):
        refused = self._check_app(call)
        if refused:
            return refused
        repository = call.match["repo"]
        if repository not in self.installations:
            return denied("Not Found", 404)
        return {"id": self.installations[repository], "app_id": int(self.app_id), "target_type": "Organization"}

    def _access_token(self, call: Call):
        refused = self._check_app(call)
        if refused:
            return refused
        installation_id = int(call.match["id"])
        served = {repo for repo, inst in self.installations.items() if inst == installation_id}
        if not served:
            return denied("Not Found", 404)
        names = (call.json() or {}).get("repositories")
        repositories = {repo for repo in served if names is None or repo.split("/")[1] in names}
        token = f"ghs_{uuid.uuid4().hex}"
        expires_at = now() + self.token_lifetime
        self.tokens[token] = Grant(installation_id, repositories, expires_at)
        return Answer(201, {"token": token, "expires_at": iso(expires_at), "permissions": {"actions": "write"}})

    def _dispatch(self, call: Call):
        repository, workflow = call.match["repo"], call.match["workflow"]
        refused = self._check_token(call, repository)
        if refused:
            return refused
        if workflow not in self.workflows:
            return denied("Not Found", 404)
        body = call.json() or {}
        inputs = body.get("inputs", {})
        unexpected = sorted(set(inputs) - INPUTS)
        if unexpected:
            return denied(f"Unexpected inputs provided: {unexpected}", 422)
        if not body.get("ref"):
            return denied("Invalid request. 'ref' wasn't supplied.", 422)
        run = self.add_run(repository, RUN_NAME.format(**inputs), head_branch=body["ref"])
        if body.get("return_run_details") and self.run_details:
            api = f"{self.url}/repos/{repository}/actions/runs/{run['id']}"
            return {"workflow_run_id": run["id"], "run_url": api, "html_url": run["html_url"]}
        return Answer(204)

    def _list_runs(self, call: Call):
        repository, workflow = call.match["repo"], call.match["workflow"]
        refused = self._check_token(call, repository)
        if refused:
            return refused
        if self.hidden_lists:
            self.hidden_lists -= 1
            return {"total_count": 0, "workflow_runs": []}
        event = call.query.get("event", [None])[0]
        created = call.query.get("created", [">=1970-01-01T00:00:00Z"])[0].removeprefix(">=")
        runs = [
            run
            for run in self.runs.values()
            if run["repository"]["full_name"] == repository
            and run["path"].endswith("/" + workflow)
            and (event is None or run["event"] == event)
            and run["created_at"] >= created
        ]
        runs.sort(key=lambda run: run["created_at"], reverse=True)
        return {"total_count": len(runs), "workflow_runs": [self._public(run) for run in runs]}

    def _get_run(self, call: Call):
        refused = self._check_token(call, call.match["repo"])
        if refused:
            return refused
        run = self.runs.get(int(call.match["id"]))
        return self._public(run) if run else denied("Not Found", 404)

    def _artifacts(self, call: Call):
        refused = self._check_token(call, call.match["repo"])
        if refused:
            return refused
        run = self.runs.get(int(call.match["id"]))
        if run is None:
            return denied("Not Found", 404)
        return {"total_count": len(run["artifacts"]), "artifacts": run["artifacts"]}

    @staticmethod
    def _public(run: dict) -> dict:
        return {key: value for key, value in run.items() if key != "artifacts"}
