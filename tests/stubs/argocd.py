"""An Argo CD stand-in: applications whose sync and rollback operations follow a script.

It checks what Argo CD checks: a bearer token; 403 for an application the token cannot see (also one
that does not exist); no rollback while automated sync is on. Revisions resolve to fake commit SHAs, as
Argo CD's history records the commit, not the tag that was asked for.

    with ArgoCDStub() as argocd:
        app = argocd.app("web-staging", steps=[("Running", "Progressing"), ("Succeeded", "Healthy")])
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass, field

from tests.stubs import Answer, Call, StubServer

NOT_STARTED = None  # a step at which the controller has not picked the operation up yet


def commit(revision: str) -> str:
    """The fake commit SHA a branch or tag resolves to."""
    return hashlib.sha1(revision.encode(), usedforsecurity=False).hexdigest()


@dataclass
class App:
    """An application; each status read during an operation shows the next of `steps` (phase, health)."""

    name: str
    steps: list[tuple[str, str] | None] = field(default_factory=lambda: [("Succeeded", "Healthy")])
    automated: bool = False
    health: str = "Healthy"
    health_message: str = ""
    history: list[dict] = field(default_factory=list)
    operation_state: dict = field(
        default_factory=lambda: {"phase": "Succeeded", "startedAt": "2024-05-01T09:00:00Z", "message": "old sync"}
    )
    pending: dict | None = None  # the operation asked for and not finished, with the revision as asked
    pending_commit: str = ""  # what that revision resolves to
    reads: int | None = None  # status reads since the last operation was asked for
    sync_revision: str = ""


class ArgoCDStub(StubServer):
    token = "argocd-token"

    def __init__(self) -> None:
        super().__init__()
        self.apps: dict[str, App] = {}
        self._clock = itertools.count(1)
        self.route("GET", r"/api/v1/applications/(?P<app>[^/]+)", self._read)
        self.route("POST", r"/api/v1/applications/(?P<app>[^/]+)/sync", self._sync)
        self.route("POST", r"/api/v1/applications/(?P<app>[^/]+)/rollback", self._rollback)

    def app(self, name: str, **script) -> App:
        self.apps[name] = App(name, **script)
        return self.apps[name]

    # Routes

    def _refusal(self, call: Call) -> Answer | None:
        if call.header("Authorization") != f"Bearer {self.token}":
            return Answer(
                401, {"error": "invalid session: token is malformed", "code": 16, "message": "invalid session"}
            )
        if call.match["app"] not in self.apps:
            return Answer(403, {"error": "permission denied", "code": 7, "message": "permission denied"})
        return None

    def _read(self, call: Call):
        if refusal := self._refusal(call):
            return refusal
        app = self.apps[call.match["app"]]
        if app.reads is not None:
            self._advance(app)
        return self._application(app)

    def _sync(self, call: Call):
        if refusal := self._refusal(call):
            return refusal
        app = self.apps[call.match["app"]]
        revision = call.json().get("revision") or "HEAD"
        return self._start(app, {"sync": {"revision": revision}}, commit(revision))

    def _rollback(self, call: Call):
        if refusal := self._refusal(call):
            return refusal
        app = self.apps[call.match["app"]]
        if app.automated:
            message = "rollback cannot be initiated when auto-sync is enabled"
            return Answer(400, {"error": message, "code": 9, "message": message})
        entry = next((e for e in app.history if e["id"] == call.json().get("id")), None)
        if entry is None:
            message = f"application {app.name} does not have deployment with id {call.json().get('id')}"
            return Answer(400, {"error": message, "code": 3, "message": message})
        return self._start(app, {"sync": {"revision": entry["revision"]}}, entry["revision"])

    # The controller, as far as a status read can tell

    def _start(self, app: App, operation: dict, resolved: str):
        if app.pending is not None:
            message = "another operation is already in progress"
            return Answer(400, {"error": message, "code": 9, "message": message})
        app.pending, app.pending_commit, app.reads = operation, resolved, 0
        return self._application(app)  # still showing the previous operation's state

    def _advance(self, app: App) -> None:
        """Show the next step; health goes on changing after the operation itself is done."""
        step = app.steps[min(app.reads, len(app.steps) - 1)]
        app.reads += 1
        if step is NOT_STARTED:
            return
        phase, app.health = step
        if app.pending is None:
            return
        if app.operation_state.get("operation") is not app.pending:  # the controller starts it now
            app.operation_state = {"startedAt": f"2024-05-01T10:{next(self._clock):02d}:00Z"}
        revision = app.pending_commit
        app.operation_state.update(
            phase=phase,
            operation=app.pending,
            message="successfully synced (all tasks run)" if phase == "Succeeded" else f"one or more tasks {phase}",
            syncResult={"revision": revision},
        )
        if phase in ("Succeeded", "Failed", "Error"):
            app.pending = None
            app.sync_revision = revision
            if phase == "Succeeded":
                next_id = max((e["id"] for e in app.history), default=-1) + 1
                app.history.append({"id": next_id, "revision": revision, "deployedAt": "2024-05-01T10:00:00Z"})

    def _application(self, app: App) -> dict:
        sync_policy = {"automated": {"prune": True, "selfHeal": True}} if app.automated else {}
        return {
            "metadata": {"name": app.name, "namespace": "argocd"},
            "spec": {"project": "default", "syncPolicy": sync_policy},
            "operation": app.pending,
            "status": {
                "health": {"status": app.health, **({"message": app.health_message} if app.health_message else {})},
                "sync": {"status": "Synced", "revision": app.sync_revision},
                "operationState": app.operation_state,
                "history": app.history,
                "summary": {"images": [f"registry.local/{app.name}@{app.sync_revision[:12]}"]},
            },
        }
