"""GitHub's REST API as a GitHub App and its deploy provider use it, checking credentials as GitHub does.

App endpoints accept only a JWT signed RS256 with the App's key (verified with the public key, `iss`
the App id, at most 10 minutes long); repository endpoints accept only an unexpired installation token
minted for that repository. Workflow dispatches create runs that tests then move along.

Each installed repository has a small git history (three commits on `main`, `v1.0` tagging the
second) that tests push to and tag; the commits, compare, check-run and status endpoints read it.
Answers to deployment protection rules are kept in `reviews`, in the order they came.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from urllib.parse import unquote

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.stubs import Answer, Call, StubServer

RUN_NAME = "Deploy {service} {version} to {environment} (#{deployment_id})"
INPUTS = {"service", "environment", "version", "deployment_id", "sha"}
REPO = r"/repos/(?P<repo>[^/]+/[^/]+)"
DISPATCHES = REPO + r"/actions/workflows/(?P<workflow>[^/]+)/dispatches"
# A ref in a path may hold slashes (`feature/login`); the check-run and status routes are registered
# after the commit route, so they win for paths that end with their names.
COMMIT = REPO + r"/commits/(?P<ref>.+)"
CHECK_RUNS = COMMIT + r"/check-runs"
STATUS = COMMIT + r"/status"
COMPARE = REPO + r"/compare/(?P<base>.+?)\.\.\.(?P<head>.+)"
HEX = re.compile(r"[0-9a-f]{7,40}")
FIRST_COMMITS = [
    ("Initial commit", "alice"),
    ("Add the deploy workflow", "bob"),
    ("Fix the login redirect (#3)", "alice"),
]


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


def part(call: Call, name: str) -> str:
    """A part of the path its route names, as the caller wrote it before escaping it."""
    assert call.match is not None
    return unquote(call.match[name])


def no_commit(ref: str) -> Answer:
    return denied(f"No commit found for SHA: {ref}", 422)


def per_page(call: Call) -> int:
    """How many a listing shows: GitHub's default of 30, at most 100."""
    return min(int(call.query.get("per_page", ["30"])[0]), 100)


@dataclass
class GitCommit:
    sha: str
    message: str
    author: str  # a GitHub login; git's author name is the login capitalized ("carol" -> "Carol")
    parents: list[str]
    date: datetime
    order: int  # when the stub made it: parents always come first, so this sorts commits oldest first
    account: bool = True  # False: the author's e-mail belongs to no GitHub account


@dataclass
class History:
    """One repository's commits, with the branches and tags that point into them."""

    commits: dict[str, GitCommit] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    check_runs: dict[str, dict[str, dict]] = field(default_factory=dict)  # sha -> name -> the latest run
    statuses: dict[str, dict[str, dict]] = field(default_factory=dict)  # sha -> context -> the latest status

    def find(self, ref: str) -> GitCommit | None:
        """A branch, a tag, a full SHA or a SHA prefix of 7 or more that names one commit, as GitHub reads a ref."""
        sha = self.branches.get(ref) or self.tags.get(ref)
        if sha is None and HEX.fullmatch(ref):
            matches = [known for known in self.commits if known.startswith(ref)]
            sha = matches[0] if len(matches) == 1 else None
        return self.commits.get(sha) if sha else None

    def ancestry(self, sha: str) -> set[str]:
        """The commit and every commit it descends from."""
        seen: set[str] = set()
        todo = [sha]
        while todo:
            current = todo.pop()
            if current not in seen:
                seen.add(current)
                todo += self.commits[current].parents
        return seen


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
        self.reviews: list[dict] = []  # {"repository", "run_id", "environment_name", "state", "comment"}
        self._ids = itertools.count(30433642)
        self._run_lock = threading.Lock()
        self._histories: dict[str, History] = {}
        self._commits_made = itertools.count()
        self._check_ids = itertools.count(4871301)
        self._git_lock = threading.RLock()
        self.route("GET", REPO + r"/installation", self._installation)
        self.route("POST", r"/app/installations/(?P<id>\d+)/access_tokens", self._access_token)
        self.route("POST", DISPATCHES, self._dispatch)
        self.route("GET", REPO + r"/actions/workflows/(?P<workflow>[^/]+)/runs", self._list_runs)
        self.route("GET", REPO + r"/actions/runs/(?P<id>\d+)", self._get_run)
        self.route("GET", REPO + r"/actions/runs/(?P<id>\d+)/artifacts", self._artifacts)
        self.route("GET", COMMIT, self._commit)
        self.route("GET", CHECK_RUNS, self._check_runs)
        self.route("GET", STATUS, self._combined_status)
        self.route("GET", COMPARE, self._compare)
        self.route("GET", REPO + r"/branches", self._branches)
        self.route("GET", REPO + r"/tags", self._tags)
        self.route("POST", REPO + r"/actions/runs/(?P<id>\d+)/deployment_protection_rule", self._review)

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

    def history(self, repository: str) -> History:
        """The repository's git history, begun on first use as every installed repository's is."""
        with self._git_lock:
            if repository not in self._histories:
                self._histories[repository] = History()
                shas = [self.push(repository, "main", message, author) for message, author in FIRST_COMMITS]
                self.tag(repository, "v1.0", shas[1])
            return self._histories[repository]

    def push(
        self,
        repository: str,
        branch: str = "main",
        message: str = "Change something",
        author: str = "carol",
        *,
        account: bool = True,
    ) -> str:
        """A commit on top of `branch`, which moves to it; a new branch starts from main's head. Its full SHA."""
        with self._git_lock:
            history = self.history(repository)
            parent = history.branches.get(branch) or history.branches.get("main")
            order = next(self._commits_made)
            sha = hashlib.sha1(
                f"{repository}\n{parent}\n{author}\n{message}\n{order}".encode(), usedforsecurity=False
            ).hexdigest()
            history.commits[sha] = GitCommit(sha, message, author, [parent] if parent else [], now(), order, account)
            history.branches[branch] = sha
            return sha

    def tag(self, repository: str, name: str, sha: str) -> None:
        self.history(repository).tags[name] = self._known(repository, sha).sha

    def head(self, repository: str, branch: str = "main") -> str:
        return self.history(repository).branches[branch]

    def add_check_run(
        self, repository: str, sha: str, status: str = "completed", conclusion: str | None = "success", name: str = "ci"
    ) -> dict:
        """A check run on the commit; one with the same name replaces it, as a re-run does in GitHub's listing."""
        commit = self._known(repository, sha)
        run_id = next(self._check_ids)
        run = {
            "id": run_id,
            "name": name,
            "head_sha": commit.sha,
            "status": status,
            "conclusion": conclusion if status == "completed" else None,
            "html_url": f"https://github.com/{repository}/runs/{run_id}",
            "details_url": f"https://github.com/{repository}/runs/{run_id}",
            "started_at": iso(now()),
            "completed_at": iso(now()) if status == "completed" else None,
        }
        self.history(repository).check_runs.setdefault(commit.sha, {})[name] = run
        return run

    def add_status(self, repository: str, sha: str, state: str = "success", context: str = "ci/jenkins") -> dict:
        """A commit status; a later one for the same context replaces it in the combined status."""
        commit = self._known(repository, sha)
        status = {
            "id": next(self._check_ids),
            "state": state,
            "context": context,
            "description": f"The build {state}",
            "target_url": f"https://ci.example.com/{context}/{commit.sha[:7]}",
            "created_at": iso(now()),
            "updated_at": iso(now()),
        }
        self.history(repository).statuses.setdefault(commit.sha, {})[context] = status
        return status

    def _known(self, repository: str, ref: str) -> GitCommit:
        commit = self.history(repository).find(ref)
        if commit is None:
            raise KeyError(f"the stub's {repository} has no commit {ref!r}")
        return commit

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
        repository = part(call, "repo")
        if repository not in self.installations:
            return denied("Not Found", 404)
        return {"id": self.installations[repository], "app_id": int(self.app_id), "target_type": "Organization"}

    def _access_token(self, call: Call):
        refused = self._check_app(call)
        if refused:
            return refused
        installation_id = int(part(call, "id"))
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
        repository, workflow = part(call, "repo"), part(call, "workflow")
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
        # The run checks out the commit it was given, else the head of its ref (made up when the stub has no such ref).
        checked_out = self.history(repository).find(body["ref"])
        sha = inputs.get("sha") or (checked_out.sha if checked_out else uuid.uuid4().hex + uuid.uuid4().hex[:8])
        run = self.add_run(repository, RUN_NAME.format(**inputs), head_branch=body["ref"], head_sha=sha)
        if body.get("return_run_details") and self.run_details:
            api = f"{self.url}/repos/{repository}/actions/runs/{run['id']}"
            return {"workflow_run_id": run["id"], "run_url": api, "html_url": run["html_url"]}
        return Answer(204)

    def _review(self, call: Call):
        """Review custom deployment protection rules for a workflow run: GitHub answers 204 with no body."""
        repository = part(call, "repo")
        refused = self._check_token(call, repository)
        if refused:
            return refused
        body = call.json() or {}
        if not body.get("environment_name"):
            return denied('Invalid request.\n\n"environment_name" wasn\'t supplied.', 422)
        if body.get("state") not in ("approved", "rejected") and not (
            body.get("state") is None and body.get("comment")
        ):
            return denied(f"Invalid request.\n\n{body.get('state')!r} is not a valid state.", 422)
        self.reviews.append({"repository": repository, "run_id": int(part(call, "id")), **body})
        return Answer(204)

    def _list_runs(self, call: Call):
        repository, workflow = part(call, "repo"), part(call, "workflow")
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
        refused = self._check_token(call, part(call, "repo"))
        if refused:
            return refused
        run = self.runs.get(int(part(call, "id")))
        return self._public(run) if run else denied("Not Found", 404)

    def _artifacts(self, call: Call):
        refused = self._check_token(call, part(call, "repo"))
        if refused:
            return refused
        run = self.runs.get(int(part(call, "id")))
        if run is None:
            return denied("Not Found", 404)
        return {"total_count": len(run["artifacts"]), "artifacts": run["artifacts"]}

    def _commit(self, call: Call):
        repository = part(call, "repo")
        refused = self._check_token(call, repository)
        if refused:
            return refused
        ref = part(call, "ref")
        commit = self.history(repository).find(ref)
        return self._commit_json(repository, commit) if commit else no_commit(ref)

    def _compare(self, call: Call):
        repository = part(call, "repo")
        refused = self._check_token(call, repository)
        if refused:
            return refused
        history = self.history(repository)
        base, head = history.find(part(call, "base")), history.find(part(call, "head"))
        if base is None or head is None:
            return denied("Not Found", 404)
        below_base, below_head = history.ancestry(base.sha), history.ancestry(head.sha)
        ahead = sorted((history.commits[sha] for sha in below_head - below_base), key=lambda commit: commit.order)
        behind = len(below_base - below_head)
        shared = [history.commits[sha] for sha in below_base & below_head]
        merge_base = max(shared, key=lambda commit: commit.order) if shared else None
        status = (
            "identical"
            if not ahead and not behind
            else "behind"
            if not ahead
            else "ahead"
            if not behind
            else "diverged"
        )
        return {
            "html_url": f"https://github.com/{repository}/compare/{part(call, 'base')}...{part(call, 'head')}",
            "base_commit": self._commit_json(repository, base),
            "merge_base_commit": self._commit_json(repository, merge_base) if merge_base else None,
            "status": status,
            "ahead_by": len(ahead),
            "behind_by": behind,
            "total_commits": len(ahead),
            # Without paging GitHub lists the newest 250, oldest first.
            "commits": [self._commit_json(repository, commit) for commit in ahead[-250:]],
            "files": [],
        }

    def _check_runs(self, call: Call):
        repository = part(call, "repo")
        refused = self._check_token(call, repository)
        if refused:
            return refused
        ref = part(call, "ref")
        commit = self.history(repository).find(ref)
        if commit is None:
            return no_commit(ref)
        runs = list(self.history(repository).check_runs.get(commit.sha, {}).values())
        return {"total_count": len(runs), "check_runs": runs[: per_page(call)]}

    def _combined_status(self, call: Call):
        repository = part(call, "repo")
        refused = self._check_token(call, repository)
        if refused:
            return refused
        ref = part(call, "ref")
        commit = self.history(repository).find(ref)
        if commit is None:
            return no_commit(ref)
        statuses = list(self.history(repository).statuses.get(commit.sha, {}).values())
        states = {status["state"] for status in statuses}
        # GitHub's rule: failure if any failed or errored; pending if there are none or any is pending.
        state = (
            "failure"
            if states & {"failure", "error"}
            else "pending"
            if not states or "pending" in states
            else "success"
        )
        return {
            "state": state,
            "sha": commit.sha,
            "total_count": len(statuses),
            "statuses": statuses,
            "repository": {"full_name": repository},
        }

    def _branches(self, call: Call):
        return self._refs(call, "branches", protected=False)

    def _tags(self, call: Call):
        api = f"https://api.github.com/repos/{part(call, 'repo')}"
        return self._refs(call, "tags", zipball_url=f"{api}/zipball", tarball_url=f"{api}/tarball")

    def _refs(self, call: Call, kind: str, **extra):
        repository = part(call, "repo")
        refused = self._check_token(call, repository)
        if refused:
            return refused
        names: dict[str, str] = getattr(self.history(repository), kind)
        listed = [
            {"name": name, "commit": {"sha": sha, "url": f"{self.url}/repos/{repository}/commits/{sha}"}, **extra}
            for name, sha in names.items()
        ]
        return listed[: per_page(call)]

    @staticmethod
    def _commit_json(repository: str, commit: GitCommit) -> dict:
        """A commit as GitHub shows one in a commit or a compare."""
        name = commit.author.title() if commit.account else commit.author
        person = {"name": name, "email": f"{commit.author}@users.noreply.github.com", "date": iso(commit.date)}
        account = {"login": commit.author, "type": "User"} if commit.account else None
        return {
            "sha": commit.sha,
            "html_url": f"https://github.com/{repository}/commit/{commit.sha}",
            "commit": {"message": commit.message, "author": person, "committer": person},
            "author": account,
            "committer": account,
            "parents": [
                {"sha": parent, "html_url": f"https://github.com/{repository}/commit/{parent}"}
                for parent in commit.parents
            ],
        }

    @staticmethod
    def _public(run: dict) -> dict:
        return {key: value for key, value in run.items() if key != "artifacts"}
