"""Workflow runs and the deployments they belong to, whether a run is polled or arrives by webhook.

A run belongs to a deployment when GitHub said so in the dispatch answer (`return_run_details`), or,
where it cannot (GitHub Enterprise Server), when it is a `workflow_dispatch` run of the target's
workflow whose `run-name` shows the deployment's id as `#<id>`. Start time only narrows the search;
it never decides on its own.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta

from integrations.github import auth
from integrations.github.api import GitHubError
from integrations.providers import Order, RunStatus

log = logging.getLogger("chatops.github")

# How often a running deployment is polled when no webhook told us first, and how soon we look
# again for a run GitHub has not listed yet.
POLL_EVERY = 30.0
LOOK_AGAIN = 5.0
# Runs created this long before our dispatch (by GitHub's clock) still count, for clock drift.
CLOCK_DRIFT = timedelta(minutes=2)


def repository_of(order: Order) -> str:
    return (order.settings.get("repository") or order.repository).strip().lower()


def marker(deployment_id: int) -> re.Pattern:
    """`#42` in a run's title, not `#421`."""
    return re.compile(rf"#{deployment_id}(?!\d)")


def _is_workflow(run: dict, workflow: str) -> bool:
    """The target names its workflow by file name (deploy.yml) or by numeric id."""
    if workflow.isdigit():
        return str(run.get("workflow_id")) == workflow
    path = (run.get("path") or "").split("@", 1)[0]
    return path.rsplit("/", 1)[-1] == workflow.rsplit("/", 1)[-1]


def correlates(run: dict, deployment_id: int, workflow: str) -> bool:
    return (
        run.get("event") == "workflow_dispatch"
        and _is_workflow(run, workflow)
        and bool(marker(deployment_id).search(run.get("display_title") or ""))
    )


def find_run(order: Order, data: dict) -> dict | None:
    """The run our dispatch (described by `data`) started, or None while GitHub does not list it yet."""
    since = datetime.fromisoformat(data["dispatched_at"]) - CLOCK_DRIFT
    query = {"event": "workflow_dispatch", "created": f">={since:%Y-%m-%dT%H:%M:%SZ}", "per_page": 100}
    repository = repository_of(order)
    path = f"/repos/{repository}/actions/workflows/{data['workflow']}/runs"
    runs = auth.call(repository, "GET", path, params=query).json().get("workflow_runs", [])
    mine = [run for run in runs if correlates(run, order.deployment_id, data["workflow"])]
    return min(mine, key=lambda run: run.get("created_at") or "") if mine else None


def get_run(order: Order, run_id: int) -> dict:
    repository = repository_of(order)
    return auth.call(repository, "GET", f"/repos/{repository}/actions/runs/{run_id}").json()


def artifacts(order: Order, run_id: int) -> str:
    """The names of the artifacts the run uploaded (a build, an image digest...), if any."""
    repository = repository_of(order)
    try:
        answer = auth.call(repository, "GET", f"/repos/{repository}/actions/runs/{run_id}/artifacts").json()
    except GitHubError as exc:
        log.warning("#%s: could not list the artifacts of run %s: %s", order.deployment_id, run_id, exc)
        return ""
    return ", ".join(a["name"] for a in answer.get("artifacts", []) if a.get("name"))


def status_of(order: Order, run: dict) -> RunStatus:
    """What a workflow run (from the API or a webhook, same shape) means for its deployment."""
    facts = {"workflow_run_id": run["id"], "run_attempt": run.get("run_attempt", 1)}
    if run.get("head_sha"):
        facts["head_sha"] = run["head_sha"]
        repository_url = (run.get("repository") or {}).get("html_url")
        if repository_url:
            facts["commit_url"] = f"{repository_url}/commit/{run['head_sha']}"
    common = {"url": run.get("html_url", ""), "run_id": str(run["id"]), "data": facts}
    if run.get("status") != "completed":
        return RunStatus("running", check_in=POLL_EVERY, **common)
    title = f"workflow run {run.get('run_number') or run['id']}"
    conclusion = run.get("conclusion") or "without a conclusion"
    if conclusion == "success":
        return RunStatus("succeeded", detail=f"{title} succeeded", artifact=artifacts(order, run["id"]), **common)
    # failure, cancelled, timed_out, startup_failure, neutral, skipped...: nothing says it deployed.
    return RunStatus("failed", detail=f"{title} ended {conclusion.replace('_', ' ')}", **common)


def order_for(repository: str, run: dict, running: list[Order]) -> Order | None:
    """Which of the running GitHub Actions deployments this run (from a webhook) belongs to, if any."""
    for order in running:
        if order.run_id == str(run["id"]) or order.data.get("workflow_run_id") == run["id"]:
            return order
    titled = {int(n) for n in re.findall(r"#(\d+)", run.get("display_title") or "")}
    for order in running:
        if order.deployment_id not in titled or order.run_id:
            continue
        workflow = str(order.data.get("workflow", ""))
        if repository_of(order) == repository.lower() and correlates(run, order.deployment_id, workflow):
            return order
    return None
