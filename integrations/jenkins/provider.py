"""Deploy through a Jenkins job (target settings `{"job": "folder/name"}`).

The job is built with parameters SERVICE, ENV, VERSION, COMMIT and DEPLOYMENT_ID; a rollback builds the
same job with the version the engine chose. COMMIT is the full SHA the deployment was pinned to when it
was requested (what was approved), blank for a service without a repository: a job that checks out
COMMIT rather than VERSION ships exactly that, even if the branch has moved since. Jenkins first queues
the request: we follow the queue item until it names its build, then the build until it has a result.
Jenkins forgets a queue item about five minutes after it leaves the queue, so the item is polled
promptly; if it was forgotten anyway, the build is found among the job's recent builds by its
DEPLOYMENT_ID. The same search, in the queue and then among the builds, comes before a second dispatch
attempt: the first may have reached Jenkins before it was lost.
"""

from __future__ import annotations

from chatops_site.catalog.models import target_name_problem
from integrations.jenkins.client import JenkinsClient
from integrations.providers import DeployProvider, Order, ProviderError, Run, RunStatus

# Seconds between checks. Short, because the engine re-schedules a check after each answer and a
# queue item must be caught before Jenkins forgets it.
QUEUE_CHECK = 2.0
BUILD_CHECK = 5.0
# How Jenkins' build results read in chat; only SUCCESS is a successful deploy.
RESULTS = {
    "SUCCESS": "succeeded",
    "FAILURE": "failed",
    "ABORTED": "was aborted",
    "UNSTABLE": "is unstable (the job marked it so, e.g. failed checks)",
    "NOT_BUILT": "was not built",
}
# How many of a job's latest builds to search for a deployment whose queue item was forgotten.
RECENT_BUILDS = 50


def _job(order: Order) -> str:
    job = str(order.settings.get("job") or "").strip("/ ")
    if not job:
        raise ProviderError(
            f'{order.target} names no Jenkins job: set {{"job": "folder/name"}} in its settings', permanent=True
        )
    if problem := target_name_problem("job", job):  # a target saved before names were checked
        raise ProviderError(f"{order.target}: {problem}", permanent=True)
    return job


def _deployment_id(build: dict) -> str | None:
    """The DEPLOYMENT_ID parameter a build was started with (Jenkins lists parameters among its actions)."""
    for action in build.get("actions") or []:
        for parameter in (action or {}).get("parameters") or []:
            if parameter.get("name") == "DEPLOYMENT_ID":
                return parameter.get("value")
    return None


class JenkinsProvider(DeployProvider):
    def dispatch(self, order: Order) -> Run:
        job = _job(order)
        client = JenkinsClient()
        if order.attempt > 1:
            earlier = self._earlier(client, job, order.deployment_id)
            if earlier is not None:
                return earlier
        queue_url = client.trigger(
            job,
            {
                "SERVICE": order.service,
                "ENV": order.environment,
                "VERSION": order.version,
                "COMMIT": order.commit_sha,
                "DEPLOYMENT_ID": str(order.deployment_id),
            },
        )
        item = queue_url.rstrip("/").rsplit("/", 1)[-1]
        return Run(
            run_id=f"{job} queue item {item}",
            url=client.job_url(job),
            check_in=QUEUE_CHECK,
            data={"job": job, "queue_url": queue_url},
        )

    def check(self, order: Order) -> RunStatus:
        client = JenkinsClient()
        data = order.data
        job = data.get("job") or _job(order)
        if data.get("build_url"):
            return self._build(client, job, data["build_url"])
        item = client.read(data["queue_url"], f"the queue item of {job}")
        if item is None:
            return self._build(client, job, self._forgotten_item(client, job, order.deployment_id))
        if item.get("cancelled"):
            return RunStatus("failed", detail=f"the Jenkins queue item of {job} was cancelled before a build started")
        executable = item.get("executable")
        if not executable:
            waiting = item.get("why") or "waiting in the queue"
            return RunStatus("running", detail=f"Jenkins: {waiting}", check_in=QUEUE_CHECK)
        return self._build(client, job, executable["url"])

    def _build(self, client: JenkinsClient, job: str, build_url: str) -> RunStatus:
        build = client.read(build_url, f"a build of {job}")
        if build is None:
            raise ProviderError(f"Jenkins has no build at {build_url} any more", permanent=True)
        run_id = f"{job} #{build.get('number')}"
        name = f"Jenkins build {run_id}"
        console, data = build_url.rstrip("/") + "/console", {"build_url": build_url}
        result = build.get("result")
        if build.get("building") or result is None:
            detail = f"{name} is running"
            return RunStatus("running", detail, url=console, check_in=BUILD_CHECK, data=data, run_id=run_id)
        state = "succeeded" if result == "SUCCESS" else "failed"
        detail = f"{name} {RESULTS.get(result, f'ended {result}')}"
        return RunStatus(state, detail, url=console, data=data, run_id=run_id)

    def _earlier(self, client: JenkinsClient, job: str, deployment_id: int) -> Run | None:
        """The queue item or build an earlier attempt of this deployment started, if Jenkins has one."""
        tree = "items[url,task[url],actions[parameters[name,value]]]"
        queued = (client.read(client.base + "/queue", "the build queue", tree=tree) or {}).get("items") or []
        for item in queued:
            same_job = (item.get("task") or {}).get("url", "").rstrip("/") == client.job_url(job).rstrip("/")
            if same_job and _deployment_id(item) == str(deployment_id):
                queue_url = client.base + "/" + str(item["url"]).lstrip("/")
                item_id = queue_url.rstrip("/").rsplit("/", 1)[-1]
                data = {"job": job, "queue_url": queue_url}
                return Run(f"{job} queue item {item_id}", url=client.job_url(job), check_in=QUEUE_CHECK, data=data)
        try:
            build_url = self._forgotten_item(client, job, deployment_id)
        except ProviderError:
            return None
        number = build_url.rstrip("/").rsplit("/", 1)[-1]
        data = {"job": job, "build_url": build_url}
        return Run(f"{job} #{number}", url=build_url.rstrip("/") + "/console", check_in=BUILD_CHECK, data=data)

    def _forgotten_item(self, client: JenkinsClient, job: str, deployment_id: int) -> str:
        """The URL of this deployment's build, looked up by its DEPLOYMENT_ID parameter."""
        tree = f"builds[url,actions[parameters[name,value]]]{{0,{RECENT_BUILDS}}}"
        builds = (client.read(client.job_url(job), f"the job {job}", tree=tree) or {}).get("builds") or []
        for build in builds:
            if _deployment_id(build) == str(deployment_id):
                return build["url"]
        raise ProviderError(
            f"Jenkins forgot the queue item of {job} and none of its last {RECENT_BUILDS} builds is "
            f"deployment #{deployment_id}",
            permanent=True,
        )
