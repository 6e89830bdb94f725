"""Small template helpers for the dashboard pages."""

from __future__ import annotations

from datetime import datetime

from django import template

from bots import deployment_messages
from bots.deployment_messages import ICONS
from chatops_site.deploys import engine, watch
from chatops_site.deploys.models import Deployment, State
from chatops_site.durations import format_duration

register = template.Library()


@register.simple_tag(takes_context=True)
def page_link(context, **changes) -> str:
    """The current query string with a new cursor: filters stay, the other cursor goes."""
    query = context["request"].GET.copy()
    for name in ("after", "before"):
        query.pop(name, None)
    for name, value in changes.items():
        if value:
            query[name] = value
    return "?" + query.urlencode()


@register.filter
def state_icon(state: str) -> str:
    return ICONS.get(State(state), "") if state in State.values else ""


@register.filter
def duration(delta) -> str:
    return format_duration(delta) if delta is not None else ""


@register.filter
def web_link(url: str) -> str:
    """The URL when it is http(s), else nothing: escaping keeps markup out of an `href`, not `javascript:`."""
    return url if str(url).lower().startswith(("https://", "http://")) else ""


@register.inclusion_tag("web/_shipping.html")
def shipping(deployment: Deployment) -> dict:
    """The pinned commit and what it brings, worded as the chat card words it."""
    summary, _ = deployment_messages.commits_to_ship(deployment)
    return {
        "d": deployment,
        "summary": summary,
        "commits": deployment.changes.get("commits") or [],
        "ci": deployment_messages.ci_state(deployment),
        "failing": (deployment.changes.get("checks") or {}).get("state") == "failing",
        "moved": engine.moved_on(deployment),
        "compare_url": deployment.changes.get("compare_url", ""),
    }


@register.inclusion_tag("web/_watch.html")
def watch_panel(deployment: Deployment) -> dict:
    """The watch after the deploy, worded as the chat card words it, with its timeline."""
    findings = deployment.watch_findings
    deployed = deployment.finished_at
    found = [watch.finding(f) for f in findings.get("breaches", [])]
    return {
        "d": deployment,
        "summary": deployment_messages.watch_summary(deployment),
        "minutes": findings.get("minutes", 0),
        "alarms": findings.get("alarms", []),
        "levels": deployment.target.service.levels,
        "breaches": [watch.describe(f, deployed) for f in found] if deployed else [],
        "before": [
            f"{f.what} {f.detail} since {f.since:%Y-%m-%d %H:%M}"
            for f in map(watch.finding, findings.get("before", []))
        ],
        "problems": findings.get("problems", []),
        "rollback": findings.get("rollback"),
        "refused": findings.get("rollback_refused", ""),
        "checks": findings.get("checks", 0),
        "failed": findings.get("failed_checks", 0),
        "timeline": [(datetime.fromisoformat(e["at"]), e["text"]) for e in findings.get("timeline", [])],
    }
