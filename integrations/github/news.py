"""How GitHub news reads in chat: pull requests, reviews and GitHub Deployments, as platform-neutral Replies."""

from __future__ import annotations

from bots.types import Reply

PULL_REQUEST_VERBS = {
    "opened": ("🆕", "opened"),
    "reopened": ("🔁", "reopened"),
    "ready_for_review": ("👀", "is ready for review"),
    "review_requested": ("🙋", "needs a review"),
    "merged": ("🟣", "merged"),
    "closed": ("⛔", "closed without merging"),
}
REVIEW_VERBS = {"approved": ("✅", "approved"), "changes_requested": ("✋", "requested changes on")}
DEPLOYMENT_STATUS_ICONS = {"success": "✅", "failure": "❌", "error": "❌"}


def _login(user: dict | None) -> str:
    return (user or {}).get("login", "someone")


def _pr_title(repository: str, pr: dict) -> str:
    return f"{repository}#{pr['number']} {pr.get('title', '')}".rstrip()


def pull_request(payload: dict, happened: str) -> Reply:
    """`happened` is the action, with `closed` split into `merged` and `closed`."""
    pr = payload["pull_request"]
    icon, verb = PULL_REQUEST_VERBS[happened]
    text = f"{icon} {_pr_title(payload['repository']['full_name'], pr)} {verb}"
    fields = [
        ("Author", _login(pr.get("user"))),
        ("Branches", f"{pr['head'].get('ref', '?')} → {pr['base'].get('ref', '?')}"),
    ]
    if pr.get("additions") is not None:
        files = pr.get("changed_files")
        size = f"+{pr['additions']} −{pr.get('deletions', 0)}" + (f" in {files} files" if files is not None else "")
        fields.append(("Size", size))
    if happened == "review_requested":
        asked = payload.get("requested_reviewer") or payload.get("requested_team") or {}
        fields.append(("Reviewer", asked.get("login") or asked.get("name") or "?"))
    elif happened in ("merged", "closed") and payload.get("sender"):
        fields.append(("By", _login(payload["sender"])))
    return Reply(text, fields=fields, links=[("Pull request", pr["html_url"])], public=True)


def review(payload: dict) -> Reply:
    pr, submitted = payload["pull_request"], payload["review"]
    icon, verb = REVIEW_VERBS[submitted["state"].lower()]
    text = f"{icon} {_login(submitted.get('user'))} {verb} {_pr_title(payload['repository']['full_name'], pr)}"
    fields = [("Author", _login(pr.get("user")))]
    if submitted.get("body"):
        fields.append(("Comment", submitted["body"][:300]))
    link = submitted.get("html_url") or pr["html_url"]
    return Reply(text, fields=fields, links=[("Review", link)], public=True)


def deployment_status(payload: dict) -> Reply:
    status, deployment = payload["deployment_status"], payload["deployment"]
    state = status["state"]
    environment = status.get("environment") or deployment.get("environment", "?")
    text = f"{DEPLOYMENT_STATUS_ICONS.get(state, '🔄')} {payload['repository']['full_name']} to {environment}: {state}"
    if status.get("description"):
        text += f": {status['description']}"
    fields = [("Ref", deployment.get("ref", "?")), ("Commit", deployment.get("sha", "")[:12])]
    fields.append(("By", _login(status.get("creator") or deployment.get("creator"))))
    # `log_url` replaced `target_url`; older deliveries carry only the latter.
    links = [("Log", status.get("log_url") or status.get("target_url")), ("Environment", status.get("environment_url"))]
    return Reply(text, fields=fields, links=[(label, url) for label, url in links if url], public=True)
