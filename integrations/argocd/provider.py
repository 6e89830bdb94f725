"""Deploy through an Argo CD application (target settings `{"app": "name"}`).

A deploy syncs the application to the commit the deployment was pinned to when it was requested (what
was approved, even if its branch has moved since), or to its version (a branch, tag or commit of its
source) when the service has no repository to pin in. A rollback re-applies the entry of the
application's history at which the last good version was deployed. Argo CD refuses rollbacks while
automated sync is on (it would sync straight back), so we refuse first, with a reason a person can act
on.

A second dispatch attempt (the first was lost with its worker) follows the operation the first one asked
for when Argo CD is still carrying it out, instead of asking again.

A run is followed through `status.operationState.phase` (Running, Succeeded, Failed, Error) and then
`status.health.status`: Succeeded and Healthy is success; Failed or Error, or Degraded once the sync is
done, is failure; anything else is waited on, up to the target's timeout, which the engine's sweep keeps.
https://argo-cd.readthedocs.io/en/stable/developer-guide/api-docs/
"""

from __future__ import annotations

from chatops_site.catalog.models import target_name_problem
from integrations.argocd.client import ArgoCDClient
from integrations.providers import DeployProvider, Order, ProviderError, Run, RunStatus

CHECK_EVERY = 5.0  # seconds; short, so chat hears the end soon after Argo CD knows it
FAILED_PHASES = {"Failed", "Error"}


def _app_name(order: Order) -> str:
    name = str(order.settings.get("app") or "").strip()
    if not name:
        raise ProviderError(
            f'{order.target} names no Argo CD application: set {{"app": "name"}} in its settings', permanent=True
        )
    if problem := target_name_problem("app", name):  # a target saved before names were checked
        raise ProviderError(f"{order.target}: {problem}", permanent=True)
    return name


def _operation(app: dict) -> dict:
    return (app.get("status") or {}).get("operationState") or {}


def _auto_sync(app: dict) -> bool:
    automated = ((app.get("spec") or {}).get("syncPolicy") or {}).get("automated")
    return automated is not None and automated.get("enabled", True) is not False


def _revisions_of(order: Order) -> set[str]:
    """What Argo CD resolved this version to when it was deployed to the target before.

    History entries name resolved commits, not the tag or branch someone typed; the deployments that
    succeeded with the version remember the commit (see `check`), and the engine hands them over. The
    commit the rollback itself was pinned to is looked for too.
    """
    recorded = {str(data["revision"]) for data in order.earlier if data.get("revision")}
    return recorded | {order.version} | ({order.commit_sha} if order.commit_sha else set())


class ArgoCDProvider(DeployProvider):
    def dispatch(self, order: Order) -> Run:
        name = _app_name(order)
        client = ArgoCDClient()
        app = client.app(name) if order.kind == "rollback" or order.attempt > 1 else {}
        if order.kind == "rollback":
            entry = self._history_entry(app, order)
            run_id = f"{name} rollback to history {entry['id']}"
            data = {"revision": entry["revision"], "history_id": entry["id"]}
        else:
            run_id = f"{name} sync to {order.version}"
            data = {"revision": order.commit_sha or order.version}
        requested = app.get("operation") or {}
        if order.attempt > 1 and (requested.get("sync") or {}).get("revision") == data["revision"]:
            # An earlier attempt's operation, still being carried out: follow it rather than ask twice.
            started = _operation(app).get("operation") == requested
            data.update(app=name, previous_operation=None if started else _operation(app).get("startedAt"))
            return Run(run_id=run_id, url=client.page(name), check_in=CHECK_EVERY, data=data)
        if order.kind == "rollback":
            answer = client.rollback(name, data["history_id"])
        else:
            answer = client.sync(name, data["revision"])
        # The answer still shows the previous operation: a check that sees it knows ours has not begun.
        data.update(app=name, previous_operation=_operation(answer).get("startedAt"))
        return Run(run_id=run_id, url=client.page(name), check_in=CHECK_EVERY, data=data)

    def check(self, order: Order) -> RunStatus:
        data = order.data
        name = data.get("app") or _app_name(order)
        app = ArgoCDClient().app(name)
        status = app.get("status") or {}
        operation = _operation(app)
        doing = f"Argo CD {'rollback' if order.kind == 'rollback' else 'sync'} of {name}"
        if not operation or operation.get("startedAt") == data.get("previous_operation"):
            return RunStatus("running", detail=f"waiting for the {doing} to start", check_in=CHECK_EVERY)
        phase = operation.get("phase")
        if phase in FAILED_PHASES:
            reason = operation.get("message") or "no message"
            return RunStatus("failed", detail=f"{doing} ended {phase}: {reason}")
        if phase != "Succeeded":
            return RunStatus("running", detail=f"{doing} is {phase or 'starting'}", check_in=CHECK_EVERY)
        health = status.get("health") or {}
        if health.get("status") == "Degraded":
            reason = health.get("message") or "see its resources in Argo CD"
            return RunStatus("failed", detail=f"{name} synced but is Degraded: {reason}")
        if health.get("status") != "Healthy":
            waiting = f"{name} synced; waiting for it to be Healthy (now {health.get('status', 'Unknown')})"
            return RunStatus("running", detail=waiting, check_in=CHECK_EVERY)
        revision = (operation.get("syncResult") or {}).get("revision") or (status.get("sync") or {}).get("revision")
        images = ", ".join((status.get("summary") or {}).get("images") or [])
        done = f"{name} synced to {revision or order.version} and Healthy"
        if order.kind == "rollback":  # it already keeps the history entry it rolled back to
            return RunStatus("succeeded", detail=done, artifact=images[:300])
        entries = [e["id"] for e in status.get("history") or [] if e.get("revision") == revision]
        recorded = {"revision": revision, "history_id": max(entries, default=None)}
        return RunStatus("succeeded", detail=done, artifact=images[:300], data=recorded)

    def _history_entry(self, app: dict, order: Order) -> dict:
        """The newest history entry at which the version being rolled back to was deployed."""
        name = _app_name(order)
        if _auto_sync(app):
            raise ProviderError(
                f"Argo CD does not roll back {name} while automated sync is on (it would sync straight back): "
                "turn off automated sync in the application's sync policy, or revert the change in git",
                permanent=True,
            )
        wanted = _revisions_of(order)
        entries = [e for e in (app.get("status") or {}).get("history") or [] if e.get("revision") in wanted]
        if not entries:
            raise ProviderError(
                f"Argo CD's history of {name} has no entry for {order.version} any more (it keeps the last "
                f"revisionHistoryLimit syncs); deploy {order.version} instead",
                permanent=True,
            )
        return max(entries, key=lambda entry: entry["id"])
