"""Deploys through a GitHub Actions workflow: dispatch it, find our run, follow it to the end.

Target settings: `{"workflow": "deploy.yml", "ref": "main"}` (`ref` is where the workflow file is read
from; default: the version being deployed; `repository` overrides the service's). The workflow gets the
inputs `service`, `environment`, `version`, `deployment_id` and, when the deployment was pinned, `sha`: the
commit to check out and ship (the ref may have moved on since it was approved). It should show the id in its run name,
e.g. `run-name: Deploy ${{ inputs.service }} ${{ inputs.version }} (#${{ inputs.deployment_id }})`, so
that the run can be found where GitHub does not return it from the dispatch. `workflow_run` webhooks
usually finish the deployment; `check` polls as the fallback.
"""

from __future__ import annotations

from django.utils import timezone

from chatops_site.catalog.models import target_name_problem
from integrations.github import auth, runs
from integrations.github.api import GitHubError
from integrations.providers import DeployProvider, Order, ProviderError, Run, RunStatus


class GitHubActionsProvider(DeployProvider):
    def dispatch(self, order: Order) -> Run:
        repository = runs.repository_of(order)
        workflow = str(order.settings.get("workflow") or "").strip()
        if "/" not in repository or not workflow:
            raise ProviderError(
                f"{order.target} needs a GitHub repository (owner/name) and a workflow in its settings", permanent=True
            )
        for key, name in (("repository", repository), ("workflow", workflow)):
            if problem := target_name_problem(key, name):  # a target saved before names were checked
                raise ProviderError(f"{order.target}: {problem}", permanent=True)
        ref = str(order.settings.get("ref") or order.version)
        data = {
            "repository": repository,
            "workflow": workflow,
            "ref": ref,
            "dispatched_at": timezone.now().isoformat(),
        }
        body = {
            "ref": ref,
            "inputs": {
                "service": order.service,
                "environment": order.environment,
                "version": order.version,
                "deployment_id": str(order.deployment_id),
                **({"sha": order.commit_sha} if order.commit_sha else {}),
            },
            "return_run_details": True,
        }
        if order.attempt > 1:
            # An earlier attempt may have reached GitHub before it failed: its run is ours, not a second one.
            earlier = self._look(order, {**data, "dispatched_at": order.started_at.isoformat()})
            if earlier is not None:
                return self._following(earlier, data)
        details = self._dispatch(repository, f"/repos/{repository}/actions/workflows/{workflow}/dispatches", body)
        if details.get("workflow_run_id"):
            found = {"id": details["workflow_run_id"], "html_url": details.get("html_url", "")}
            return self._following(found, data)
        run = self._look(order, data)
        return Run("", check_in=runs.LOOK_AGAIN, data=data) if run is None else self._following(run, data)

    @staticmethod
    def _following(run: dict, data: dict) -> Run:
        data = {**data, "workflow_run_id": run["id"]}
        return Run(str(run["id"]), url=run.get("html_url", ""), check_in=runs.POLL_EVERY, data=data)

    @staticmethod
    def _look(order: Order, data: dict) -> dict | None:
        """Our run if GitHub lists it already. Once dispatched, an error here must not fail the dispatch
        (a retry would start a second run): `check` looks again."""
        try:
            return runs.find_run(order, data)
        except GitHubError:
            return None

    def _dispatch(self, repository: str, path: str, body: dict) -> dict:
        """The run details GitHub returned, or {} when it answered 204 as servers without them do."""
        try:
            response = auth.call(repository, "POST", path, json=body)
        except GitHubError as exc:
            if exc.status == 422 and "sha" in str(exc) and "Unexpected inputs" in str(exc):
                raise GitHubError(
                    f"{exc}: the workflow must declare the input `sha` and check it out, so that the approved "
                    "commit ships (see the README's workflow)",
                    422,
                    permanent=True,
                ) from exc
            # A server that predates `return_run_details` may refuse the unknown key; ask without it.
            if exc.status != 422 or "return_run_details" not in str(exc):
                raise
            plain = {key: value for key, value in body.items() if key != "return_run_details"}
            response = auth.call(repository, "POST", path, json=plain)
        if response.status_code != 200 or not response.content:
            return {}
        answer = response.json()
        return answer if isinstance(answer, dict) else {}

    def check(self, order: Order) -> RunStatus:
        run_id = order.data.get("workflow_run_id") or order.run_id
        if run_id:
            return runs.status_of(order, runs.get_run(order, int(run_id)))
        run = runs.find_run(order, order.data)
        if run is None:
            return RunStatus("running", detail="waiting for GitHub to list the workflow run", check_in=runs.LOOK_AGAIN)
        return runs.status_of(order, run)
