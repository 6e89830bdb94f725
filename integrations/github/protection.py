"""GitHub's custom deployment protection rule: a job deploying to a guarded environment waits for our answer.

When a workflow job reaches an environment where this App is enabled as a protection rule, GitHub sends
`deployment_protection_rule` (action `requested`) and holds the job until the App answers through the
delivery's `deployment_callback_url` (`POST /repos/{owner}/{repo}/actions/runs/{run_id}/deployment_protection_rule`
with `{"environment_name", "state": "approved" | "rejected", "comment"}` and an installation token). The
repository names the service (its catalog `repository`), the environment names ours; the deploy engine
decides, now or later (after a chat approval, once the deployment ahead ends), and a task sends the answer.
https://docs.github.com/en/actions/how-tos/managing-workflow-runs-and-deployments/managing-deployments/creating-custom-deployment-protection-rules
https://docs.github.com/en/rest/actions/workflow-runs#review-custom-deployment-protection-rules-for-a-workflow-run
"""

from __future__ import annotations

import logging
import re

from django.conf import settings

from chatops_site.catalog.models import Environment, Service
from chatops_site.deploys import engine
from chatops_site.deploys.models import Source
from chatops_site.deploys.versions import InvalidVersion
from integrations.github import auth, runs
from integrations.github.api import GitHubError
from integrations.github.models import DeliveryOutcome
from integrations.providers import Run, RunStatus

log = logging.getLogger("chatops.github")

Result = tuple[str, str]  # (DeliveryOutcome, note), as every handler of `events` answers

CALLBACK = re.compile(r"/repos/(?P<repository>[^/]+/[^/]+)/actions/runs/(?P<run>\d+)/deployment_protection_rule")
FINAL_STATUSES = {"success": "succeeded", "failure": "failed", "error": "failed"}
# GitHub shows the comment beside the decision; ours are a sentence or two.
COMMENT_LIMIT = 1000


def callback_path(url: str, repository: str) -> str:
    """The callback URL's path under GITHUB_API_URL, when it is GitHub's callback for a run of this repository;
    blank otherwise: our installation token goes to GitHub and nowhere else."""
    base = settings.GITHUB_API_URL.rstrip("/")
    if not url.startswith(base + "/"):
        return ""
    path = url[len(base) :]
    match = CALLBACK.fullmatch(path)
    return path if match and match["repository"].lower() == repository.lower() else ""


def review(facts: dict, state: str, comment: str) -> None:
    """Answer GitHub for a job's environment: `approved` lets the job run, `rejected` fails it."""
    repository = str(facts.get("repository") or "")
    path = callback_path(str(facts.get("callback_url") or ""), repository)
    if not path:
        raise GitHubError(f"no GitHub callback to answer for {repository or 'an unknown repository'}", permanent=True)
    body = {"environment_name": facts["environment"], "state": state, "comment": comment[:COMMENT_LIMIT]}
    auth.call(repository, "POST", path, json=body)
    log.info("answered GitHub for %s %s: %s (%s)", repository, facts["environment"], state, comment)


def _catalog(repository: str, environment: str) -> tuple[Service, Environment] | str:
    """The service and environment a job names, or why the catalog has no such pair."""
    services = list(Service.objects.filter(repository__iexact=repository).order_by("name"))
    ours = Environment.objects.filter(name__iexact=environment).first()
    if not services:
        return f"{repository} is not the repository of any service in the ChatOps catalog."
    if ours is None:
        known = ", ".join(Environment.objects.values_list("name", flat=True))
        return f"ChatOps has no environment named '{environment}' (it knows: {known})."
    if len(services) > 1:
        deploying = [service for service in services if service.targets.filter(environment=ours).exists()]
        if len(deploying) != 1:
            names = ", ".join(service.name for service in services)
            return f"{repository} is the repository of several services ({names}); ChatOps cannot tell which one."
        services = deploying
    return services[0], ours


def requested(payload: dict) -> Result:
    """`deployment_protection_rule`: record the job's deployment under our rules and answer, now or later."""
    if payload.get("action") != "requested":
        return DeliveryOutcome.IGNORED, f"deployment_protection_rule {payload.get('action')} is not used"
    repository = payload["repository"]["full_name"]
    environment = str(payload.get("environment") or "")
    deployment = payload.get("deployment") or {}
    callback = str(payload.get("deployment_callback_url") or "")
    path = callback_path(callback, repository)
    if not path or not environment:
        log.warning("deployment_protection_rule for %s without a GitHub callback: %r", repository, callback[:300])
        return DeliveryOutcome.IGNORED, f"no callback under {settings.GITHUB_API_URL} to answer"
    run_id = CALLBACK.fullmatch(path)["run"]  # type: ignore[index]  # callback_path matched it
    facts = {
        "repository": repository,
        "environment": environment,
        "callback_url": callback,
        "github_deployment_id": deployment.get("id"),
        "workflow_run_id": int(run_id),
        "event": str(payload.get("event") or ""),
    }
    known = engine.started_on_github(deployment["id"]) if deployment.get("id") else None
    if known is not None:
        return DeliveryOutcome.IGNORED, f"#{known.pk} already answers for GitHub deployment {deployment['id']}"
    found = _catalog(repository, environment)
    if isinstance(found, str):
        review(facts, "rejected", f"ChatOps: {found}")
        return DeliveryOutcome.HANDLED, f"rejected: {found}"
    service, ours = found
    login = str((payload.get("sender") or {}).get("login") or "someone")
    web = settings.GITHUB_WEB_URL.rstrip("/")
    run = Run(run_id, url=f"{web}/{repository}/actions/runs/{run_id}", data=facts)
    try:
        recorded = engine.request_from_github(
            service,
            ours,
            sha=str(deployment.get("sha") or ""),
            ref=str(deployment.get("ref") or ""),
            login=login,
            run=run,
        )
    except (engine.DeployError, InvalidVersion) as exc:
        review(facts, "rejected", f"ChatOps: {exc}")
        return DeliveryOutcome.HANDLED, f"rejected: {exc}"
    return DeliveryOutcome.HANDLED, f"#{recorded.pk}: {recorded.get_state_display()}"


def run_completed(repository: str, run: dict) -> list[str]:
    """Finish the deployments of this run's jobs that GitHub asked us about: what became of each."""
    said = []
    for order in engine.outside_orders(Source.GITHUB):
        if order.run_id != str(run["id"]) or str(order.data.get("repository", "")).lower() != repository.lower():
            continue
        status = runs.status_of(order, run)
        if engine.record_status(order.deployment_id, status) is not None:
            said.append(f"#{order.deployment_id}: {status.state}")
    return said


def deployment_status(payload: dict) -> Result | None:
    """A final status of a GitHub deployment we answered for finishes our record: that job has ended.

    None when no deployment of ours follows it (then it is news for the `deploy` routes).
    """
    recorded = engine.started_on_github(payload["deployment"]["id"])
    if recorded is None:
        return None
    state = payload["deployment_status"].get("state")
    if state not in FINAL_STATUSES:
        return DeliveryOutcome.IGNORED, f"#{recorded.pk} follows this deployment; {state} is not its end"
    status = RunStatus(FINAL_STATUSES[state], detail=f"GitHub's deployment ended {state}")
    if engine.record_status(recorded.pk, status) is None:
        return DeliveryOutcome.IGNORED, f"#{recorded.pk} is not running"
    return DeliveryOutcome.HANDLED, f"#{recorded.pk}: {status.state}"
