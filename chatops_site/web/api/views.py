"""API views: thin, declarative where they can be; every decision is the engine's or RBAC's.

Reads are narrowed by `web.scopes` (what a user may see, as on the dashboard) and filtered by the
dashboard's own FilterSets; writes call `deploys.engine`, which checks the grants and the rules and
records who did what (`DeploymentEvent.actor`, `Approval.approver`, `Lock.locked_by`).
"""

from __future__ import annotations

import logging

from django.contrib.auth.models import User
from django.db import IntegrityError
from django.db.models import Prefetch, Q
from django.http import JsonResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotAuthenticated, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from bots.models import CommandRun
from chatops_site.catalog import rbac
from chatops_site.catalog.models import Action, DeployTarget, Environment, Service
from chatops_site.deploys import engine, freeze_edits
from chatops_site.deploys.models import Deployment, Freeze, Lock
from chatops_site.web import scopes
from chatops_site.web.api import serializers as s
from chatops_site.web.api.errors import Conflict, ErrorSerializer
from chatops_site.web.api.filtering import FilterBackend
from chatops_site.web.api.pagination import KeysetPagination, day_group_links
from chatops_site.web.filters import CommandRunFilter, DeploymentFilter
from costs import reports

log = logging.getLogger("chatops.api")

ID = r"[0-9]{1,18}"  # what fits a database id; anything else is no such URL (see `not_found`)


def errors(*codes: int) -> dict[int, OpenApiResponse]:
    """The error answers an operation documents, besides 401 (every endpoint but the schema needs a login)."""
    said = {
        400: "Bad parameters: `detail` says which and why.",
        401: "No valid token or session.",
        403: "The user lacks the grant; `detail` says which.",
        404: "No such object (or not one the user may see).",
        409: "The rules refuse it now: locked, already decided, not waiting...",
    }
    return {code: OpenApiResponse(ErrorSerializer, description=said[code]) for code in (401, *codes)}


@csrf_exempt  # it changes nothing; a POST to a wrong URL should hear 404, not a CSRF page
def not_found(request) -> JsonResponse:
    """Every URL under /api/ that names nothing answers JSON too, whatever the method."""
    return JsonResponse({"detail": f"There is no API endpoint at {request.path}."}, status=404)


def signed_in(request: Request) -> User:
    """The caller, for the engine; every endpoint requires authentication, so it is never the anonymous user."""
    if not isinstance(request.user, User):
        raise NotAuthenticated()
    return request.user


# Catalog


@extend_schema_view(
    list=extend_schema(
        summary="Services, with targets and what runs on each",
        responses={200: s.ServiceSerializer(many=True), **errors()},
    ),
    retrieve=extend_schema(summary="One service", responses={200: s.ServiceSerializer, **errors(404)}),
)
class ServiceViewSet(viewsets.ReadOnlyModelViewSet):
    """The services with a target the user may view, and only those targets."""

    serializer_class = s.ServiceSerializer
    lookup_field = "name"
    lookup_value_regex = r"[-\w]+"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Service.objects.none()
        visible = scopes.targets_for(self.request.user)
        return (
            Service.objects.filter(targets__in=visible)
            .distinct()
            .prefetch_related(Prefetch("targets", queryset=visible.select_related("environment")))
        )

    def get_serializer(self, *args, **kwargs):
        """Every target about to be shown gets its current version and lock, for all of them at once."""
        if args:
            services = args[0] if kwargs.get("many") else [args[0]]
            _with_current_and_locks([target for service in services for target in service.targets.all()])
        return super().get_serializer(*args, **kwargs)


def _with_current_and_locks(targets: list[DeployTarget]) -> None:
    """Set `current` (what runs there now) and `lock` (the freeze in force) on each target, in three queries."""
    current = engine.current_deployments(DeployTarget.objects.filter(pk__in=[t.pk for t in targets]))
    locks = engine.active_locks(targets)
    for target in targets:  # not model fields: attributes of these rows that `TargetSerializer` reads
        setattr(target, "current", current.get(target.pk))  # noqa: B010
        setattr(target, "lock", locks.get(target.pk))  # noqa: B010


@extend_schema(summary="Environments", responses={200: s.EnvironmentSerializer(many=True), **errors()})
class EnvironmentList(generics.ListAPIView):
    serializer_class = s.EnvironmentSerializer
    queryset = Environment.objects.all()


# Deployments


@extend_schema_view(
    list=extend_schema(
        summary="Deployments the user may see, newest first",
        responses={200: s.DeploymentSerializer(many=True), **errors(400)},
    ),
    retrieve=extend_schema(
        summary="One deployment, with its transitions and approvals",
        responses={200: s.DeploymentDetailSerializer, **errors(404)},
    ),
    create=extend_schema(
        summary="Deploy or roll back a service in an environment",
        request=s.DeployRequestSerializer,
        responses={202: s.DeploymentDetailSerializer, **errors(400, 403, 409)},
    ),
)
class DeploymentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    lookup_value_regex = ID
    filter_backends = [FilterBackend]
    filterset_class = DeploymentFilter
    pagination_class = KeysetPagination
    keyset_field = "requested_at"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Deployment.objects.none()
        visible = scopes.deployments_for(self.request.user)
        if self.action == "retrieve":
            return visible.select_related("approval__approver").prefetch_related("events__actor")
        return visible

    def get_serializer_class(self):
        return s.DeploymentSerializer if self.action == "list" else s.DeploymentDetailSerializer

    def create(self, request: Request) -> Response:
        """The same request as `/deploy` or `/rollback`: 202, the deployment then goes on in the background."""
        asked = s.DeployRequestSerializer(data=request.data)
        asked.is_valid(raise_exception=True)
        data = asked.validated_data
        deployment = engine.request_deploy(
            signed_in(request),
            data["service"],
            data["environment"],
            data.get("version") or None,
            data["action"],
            data.get("override") or "",
        )
        log.info("api: %s asked for %s", request.user.get_username(), deployment)
        answer = self._answer(deployment.pk, status.HTTP_202_ACCEPTED)
        answer["Location"] = reverse("api:deployment-detail", args=[deployment.pk], request=request)
        return answer

    @extend_schema(
        summary="Approve a deployment waiting for approval",
        request=None,
        responses={200: s.DeploymentDetailSerializer, **errors(403, 404, 409)},
    )
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str) -> Response:
        return self._decide(engine.approve, pk)

    @extend_schema(
        summary="Reject a deployment waiting for approval",
        request=s.RejectSerializer,
        responses={200: s.DeploymentDetailSerializer, **errors(400, 403, 404, 409)},
    )
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, pk: str) -> Response:
        asked = s.RejectSerializer(data=request.data)
        asked.is_valid(raise_exception=True)
        return self._decide(engine.reject, pk, asked.validated_data.get("reason", ""))

    @extend_schema(
        summary="Cancel a deployment that has not started",
        request=None,
        responses={200: s.DeploymentDetailSerializer, **errors(403, 404, 409)},
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str) -> Response:
        return self._decide(engine.cancel, pk)

    @extend_schema(
        summary="Report the end of a deployment started elsewhere (through the gate, or a GitHub job)",
        request=s.FinishSerializer,
        responses={200: s.DeploymentDetailSerializer, **errors(400, 403, 404, 409)},
    )
    @action(detail=True, methods=["post"])
    def finish(self, request: Request, pk: str) -> Response:
        asked = s.FinishSerializer(data=request.data)
        asked.is_valid(raise_exception=True)
        return self._decide(engine.finish, pk, asked.validated_data["result"], asked.validated_data.get("url", ""))

    def _decide(self, decision, pk: str, *args) -> Response:
        """The buttons' rules: the engine checks the grant, then the state; what one may not see is a 404."""
        deployment = decision(signed_in(self.request), int(pk), *args)
        log.info("api: %s %s #%s", self.request.user.get_username(), decision.__name__, deployment.pk)
        return self._answer(deployment.pk)

    def _answer(self, pk: int, code: int = status.HTTP_200_OK) -> Response:
        deployment = (
            Deployment.objects.select_related("target__service", "target__environment", "requested_by")
            .select_related("approval__approver")
            .prefetch_related("events__actor")
            .get(pk=pk)
        )
        return Response(s.DeploymentDetailSerializer(deployment).data, status=code)


# The gate, for deploys started elsewhere


class Gate(APIView):
    @extend_schema(
        summary="May a deploy started elsewhere (Jenkins, GitLab, a script) run now? Yes records it running",
        request=s.GateRequestSerializer,
        responses={
            200: s.GateAllowedSerializer,
            409: OpenApiResponse(
                s.GateRefusedSerializer,
                description="Not now: locked, frozen, no grant, another deployment first, or approval needed.",
            ),
            **errors(400),
        },
    )
    def post(self, request: Request) -> Response:
        """The same rules as `/deploy`, answered at once: the engine's refusals are 409s a pipeline can read."""
        asked = s.GateRequestSerializer(data=request.data)
        asked.is_valid(raise_exception=True)
        data = asked.validated_data
        try:
            deployment = engine.admit(
                signed_in(request),
                data["service"],
                data["environment"],
                data["version"],
                data.get("commit", ""),
                data.get("url", ""),
            )
        except engine.AwaitingApproval as exc:
            return self._refused(request, str(exc), exc.deployment.pk)
        except (rbac.Denied, engine.DeployError) as exc:
            return self._refused(request, str(exc))
        log.info("api: %s passed the gate as %s", request.user.get_username(), deployment)
        return Response({"allowed": True, "deployment": deployment.pk})

    @staticmethod
    def _refused(request: Request, reason: str, waiting: int | None = None) -> Response:
        log.info("api: %s was refused at the gate: %s", request.user.get_username(), reason)
        answer: dict[str, object] = {"allowed": False, "reason": reason, "detail": reason}
        if waiting is not None:
            answer["deployment"] = waiting
        return Response(answer, status=status.HTTP_409_CONFLICT)


# Command history


@extend_schema(
    summary="Command history the user may see, newest first",
    responses={200: s.CommandRunSerializer(many=True), **errors(400)},
)
class CommandRunList(generics.ListAPIView):
    serializer_class = s.CommandRunSerializer
    filter_backends = [FilterBackend]
    filterset_class = CommandRunFilter
    pagination_class = KeysetPagination
    keyset_field = "received_at"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # drf-spectacular building the schema, without a user
            return CommandRun.objects.none()
        return scopes.commands_for(self.request.user)


# Locks


@extend_schema_view(
    list=extend_schema(
        summary="Freezes in force that the user may see", responses={200: s.LockSerializer(many=True), **errors()}
    ),
    create=extend_schema(
        summary="Freeze deploys of a service in an environment",
        request=s.LockRequestSerializer,
        responses={201: s.LockSerializer, **errors(400, 403, 409)},
    ),
    destroy=extend_schema(summary="Lift a freeze", responses={200: s.LockSerializer, **errors(403, 404, 409)}),
)
class LockViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    lookup_value_regex = ID
    serializer_class = s.LockSerializer

    def get_queryset(self):
        open_locks = (
            Lock.objects.filter(released_at=None)
            .filter(Q(until=None) | Q(until__gt=timezone.now()))
            .select_related("target__service", "target__environment", "locked_by", "released_by")
        )
        if getattr(self, "swagger_fake_view", False):
            return open_locks.none()
        return rbac.restrict(open_locks, self.request.user, Action.VIEW, "target__service", "target__environment")

    def create(self, request: Request) -> Response:
        asked = s.LockRequestSerializer(data=request.data)
        asked.is_valid(raise_exception=True)
        data = asked.validated_data
        lock = engine.lock(
            signed_in(request), data["service"], data["environment"], data.get("reason", ""), data.get("until")
        )
        log.info("api: %s locked %s", request.user.get_username(), lock.target)
        return Response(s.LockSerializer(lock).data, status=status.HTTP_201_CREATED)

    def destroy(self, request: Request, pk: str) -> Response:
        """Unlock through the engine (the `lock` grant), only if this lock is the one in force."""
        lock = get_object_or_404(Lock.objects.select_related("target__service", "target__environment"), pk=pk)
        if not lock.is_active:
            raise Conflict(f"Lock #{lock.pk} on {lock.target} is no longer in force.")
        released = engine.unlock(signed_in(request), lock.target.service, lock.target.environment)
        log.info("api: %s unlocked %s", request.user.get_username(), lock.target)
        return Response(s.LockSerializer(released).data)


# Freezes


@extend_schema_view(
    list=extend_schema(
        summary="Freeze windows, each with the window in force and the next one",
        responses={200: s.FreezeSerializer(many=True), **errors()},
    ),
    retrieve=extend_schema(summary="One freeze", responses={200: s.FreezeSerializer, **errors(404)}),
    create=extend_schema(
        summary="Add a freeze (needs `lock` on every target it covers)",
        request=s.FreezeRequestSerializer,
        responses={201: s.FreezeSerializer, **errors(400, 403)},
    ),
    destroy=extend_schema(
        summary="Remove a freeze (needs `lock` on every target it covers); what it held starts",
        responses={200: s.FreezeSerializer, **errors(403, 404)},
    ),
)
class FreezeViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Freezes are policy every signed-in user may read; making or removing one is a scheduled lock."""

    serializer_class = s.FreezeSerializer
    queryset = Freeze.objects.prefetch_related("environments", "services")
    lookup_field = "name"
    lookup_value_regex = r"[-a-zA-Z0-9_]{1,64}"

    def create(self, request: Request) -> Response:
        """Made as the catalog file makes it; a window in force now holds new requests, and the queue keeps waiting."""
        asked = s.FreezeRequestSerializer(data=request.data)
        asked.is_valid(raise_exception=True)
        data = dict(asked.validated_data)
        environments, services = data.pop("environments"), data.pop("services", [])
        freeze_edits.require_lock(signed_in(request), environments, services)  # the grant before the state
        taken = ValidationError({"name": [f"There is already a freeze named '{data['name']}'."]})
        if Freeze.objects.filter(name=data["name"]).exists():
            raise taken
        try:
            freeze = freeze_edits.create(data, environments, services)
        except IntegrityError:  # made by someone else since it was looked for
            raise taken from None
        log.info("api: %s added freeze %s", request.user.get_username(), freeze.name)
        answer = Response(s.FreezeSerializer(freeze).data, status=status.HTTP_201_CREATED)
        answer["Location"] = reverse("api:freeze-detail", args=[freeze.name], request=request)
        return answer

    def destroy(self, request: Request, name: str) -> Response:
        """Answers with the freeze as it was; the targets it held are woken and start what they queued."""
        freeze = self.get_object()
        freeze_edits.require_lock(signed_in(request), freeze.environments.all(), freeze.services.all())
        was = s.FreezeSerializer(freeze).data
        freeze_edits.delete(freeze)
        log.info("api: %s removed freeze %s", request.user.get_username(), name)
        return Response(was)


# Costs


class DailyCosts(APIView):
    @extend_schema(
        summary="One row per UTC day and group (AWS service or our service), a page at a time",
        parameters=[s.DailyQuerySerializer],
        responses={200: s.DailyCostsSerializer, **errors(400, 403)},
    )
    def get(self, request: Request) -> Response:
        asked = s.DailyQuerySerializer(data=request.query_params)
        asked.is_valid(raise_exception=True)
        q = asked.validated_data
        service = q.get("service")
        rbac.require(request.user, Action.VIEW, service)
        page = reports.daily_page(
            q["start"], q["end"], service, q["group_by"], after=q.get("after"), before=q.get("before")
        )
        answer = {
            **q,
            "service": service.name if service else None,
            **day_group_links(request, page),
            "rows": page.rows,
        }
        return Response(s.DailyCostsSerializer(answer).data)


class CostSummary(APIView):
    @extend_schema(
        summary="The numbers `/cost <period> [<service>]` answers with",
        parameters=[s.SummaryQuerySerializer],
        responses={200: s.CostSummarySerializer, **errors(400, 403)},
    )
    def get(self, request: Request) -> Response:
        asked = s.SummaryQuerySerializer(data=request.query_params)
        asked.is_valid(raise_exception=True)
        service = asked.validated_data.get("service")
        rbac.require(request.user, Action.VIEW, service)
        return Response(s.CostSummarySerializer(reports.summary(asked.validated_data["period"], service)).data)
