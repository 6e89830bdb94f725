"""Dashboard pages: thin views over the domain modules, every one behind the login."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch, Q
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from bots.models import CommandRun
from chatops_site.catalog import rbac
from chatops_site.catalog.models import Action, ChatIdentity, Grant, Service
from chatops_site.deploys import engine
from chatops_site.deploys.models import State
from chatops_site.web import board, command_box, keyset, links, scopes, spend
from chatops_site.web.filters import CommandRunFilter, DeploymentFilter
from chatops_site.web.forms import ApiTokenForm, CommandForm
from chatops_site.web.models import ApiToken
from chatops_site.web.spend import CostsForm
from costs import reports
from costs.around import around


@login_required
def overview(request):
    environments, rows = board.board(request.user)
    return render(
        request,
        "web/overview.html",
        {"environments": environments, "rows": rows, "pending": board.pending(request.user)},
    )


def _listing(request, filterset, field: str, template: str):
    """A filtered list, one keyset page of it; bad filters or a broken page link say so."""
    page = keyset.Page([])
    if filterset.is_valid():
        try:
            page = keyset.paginate(
                filterset.qs, field, after=request.GET.get("after", ""), before=request.GET.get("before", "")
            )
        except keyset.InvalidCursor as exc:
            messages.warning(request, str(exc))
            page = keyset.paginate(filterset.qs, field)
    return render(request, template, {"filter": filterset, "page": page})


@login_required
def history(request):
    filterset = CommandRunFilter(request.GET, queryset=scopes.commands_for(request.user))
    return _listing(request, filterset, "received_at", "web/history.html")


@login_required
def deployments(request):
    filterset = DeploymentFilter(request.GET, queryset=scopes.deployments_for(request.user))
    return _listing(request, filterset, "requested_at", "web/deployments.html")


@login_required
def deployment(request, pk: int):
    found = get_object_or_404(scopes.deployments_for(request.user).select_related("rollback_of"), pk=pk)
    target = found.target
    user = request.user
    current = engine.current_deployment(target)
    rollback = ""
    if found.state == State.SUCCEEDED and rbac.may(user, Action.ROLLBACK, target.service, target.environment):
        here = f"/rollback {target.service.name} {target.environment.name}"
        rollback = here if current is not None and current.pk == found.pk else f"{here} {found.version}"
    may_decide = found.state == State.AWAITING_APPROVAL and not found.pinning and engine.may_decide(user, found)
    context = {
        "deployment": found,
        "events": found.events.select_related("actor"),
        "approval": getattr(found, "approval", None),
        "runs": found.command_runs.select_related("user").order_by("received_at", "id"),
        "current": current,
        "rollback": rollback,
        "may_decide": may_decide,
        "holds": engine.holds(target, found.kind) if not found.is_final else "",
        "cost": around(found),
    }
    return render(request, "web/deployment.html", context)


@login_required
def services(request):
    visible = scopes.targets_for(request.user)
    catalog = (
        Service.objects.filter(targets__in=visible)
        .distinct()
        .prefetch_related(Prefetch("targets", queryset=visible.select_related("environment")))
    )
    current = engine.current_deployments(visible)
    rows = [
        {
            "service": service,
            "repository_url": links.repository_url(service.repository),
            "admin_url": links.admin_url(service) if request.user.is_staff else "",
            "targets": [(t, current.get(t.pk)) for t in service.targets.all()],
        }
        for service in catalog
    ]
    return render(request, "web/services.html", {"rows": rows})


@login_required
def profile(request):
    return _profile(request, ApiTokenForm())


def _profile(request, form: ApiTokenForm, made: tuple[ApiToken, str] | None = None, status: int = 200):
    user = request.user
    context = {
        "tokens": ApiToken.objects.filter(user=user),
        "token_form": form,
        "token_days": settings.CHATOPS_API_TOKEN_DAYS,
        "made": made,
        "grants": Grant.objects.filter(Q(user=user) | Q(group__in=user.groups.all())).select_related(
            "service", "environment", "group"
        ),
        "identities": ChatIdentity.objects.filter(user=user),
    }
    return render(request, "web/profile.html", context, status=status)


@never_cache
@login_required
@require_POST
def create_token(request):
    """A new named API token. Its key is in this answer only, which no cache keeps: a redirect would have to
    carry it through the session (the database) or a cookie."""
    form = ApiTokenForm(request.POST)
    if not form.is_valid():
        return _profile(request, form, status=400)
    made = ApiToken.issue(request.user, form.cleaned_data["name"])
    return _profile(request, ApiTokenForm(), made=made, status=201)


@login_required
@require_POST
def revoke_token(request):
    token = ApiToken.objects.filter(user=request.user, pk=request.POST.get("token", "")).first()
    if token is None:
        messages.warning(request, "You have no such API token.")
    else:
        token.delete()
        messages.info(request, f"The API token {token.name} is revoked: it no longer opens the API.")
    return redirect("web:profile")


@login_required
@require_POST
def command(request):
    """Run one line through the engine as the logged-in user; the page's script asks for a fragment."""
    form = CommandForm(request.POST)
    fragment = request.headers.get("X-Requested-With") == "fetch"
    if not form.is_valid():
        context: dict[str, object] = {"error": form.errors["line"][0]}
        return render(request, "web/_answer.html" if fragment else "web/command.html", context, status=400)
    reply = command_box.run(request.user, form.cleaned_data["line"])
    outcome = None
    if reply.run_id is not None:
        outcome = CommandRun.objects.filter(pk=reply.run_id).values_list("outcome", flat=True).first()
    context = {"reply": reply, "line": form.cleaned_data["line"], "outcome": outcome}
    return render(request, "web/_answer.html" if fragment else "web/command.html", context)


@login_required
@require_GET
def follow_ups(request, run_id: int):
    """New follow-ups of one of your own web commands: `?after=<last message id>`."""
    after = request.GET.get("after", "0")
    try:
        found, done = command_box.follow_ups(request.user, run_id, int(after) if after.isdigit() else 0)
    except CommandRun.DoesNotExist:
        raise Http404("No such command of yours.") from None
    return JsonResponse({"messages": [{"id": m.pk, "text": m.text, "final": m.final} for m in found], "done": done})


@login_required
def costs(request):
    """Spend over a period; `?format=csv` downloads the rows the page shows."""
    form = CostsForm(request.GET)
    if not form.is_valid():
        return render(request, "web/costs.html", {"form": form}, status=400)
    period, service = form.cleaned_data["period"] or "30d", form.cleaned_data["service"]
    if request.GET.get("format") == "csv":
        summary = reports.summary(period, service)
        response = HttpResponse(content_type="text/csv")
        name = f"costs-{summary.start}-{summary.end}{'-' + service.name if service else ''}.csv"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        spend.write_csv(summary, service, response)
        return response
    page = spend.build(period, service)
    return render(request, "web/costs.html", {"form": form, "page": page, "summary": page.summary})
