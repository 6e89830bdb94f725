"""The admin is where RBAC is run and the audit trail is read: grants must work, history must stay put."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import reverse

from bots.models import CommandRun, SlackInstallation
from chatops_site import crypto
from chatops_site.catalog import rbac
from chatops_site.catalog.models import DeployTarget, Environment, Grant, Service
from chatops_site.deploys.models import Approval, Deployment, Lock, State


def url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.fixture
def history(say, alice, bob):
    """A finished deploy, an approved prod deploy, a lock, and the command runs that made them."""
    say("alice", "/deploy web-app staging v2")
    say("alice", "/deploy api prod v3")
    say("bob", f"/approve {Deployment.objects.get(target__environment__name='prod').pk}")
    say("bob", "/lock worker dev release freeze")
    assert Approval.objects.exists() and Lock.objects.exists() and CommandRun.objects.count() == 4


def test_every_registered_changelist_and_search_answers(admin_client, history):
    for model, model_admin in admin.site._registry.items():
        assert admin_client.get(url(model, "changelist")).status_code == 200, model
        if model_admin.search_fields:
            assert admin_client.get(url(model, "changelist"), {"q": "web"}).status_code == 200, model
    assert admin_client.get(url(Lock, "changelist"), {"released_at__isempty": "1"}).status_code == 200


def test_audit_detail_pages_show_the_trail_read_only(admin_client, history):
    deployment = Deployment.objects.get(target__environment__name="prod")
    page = admin_client.get(url(Deployment, "change", deployment.pk)).content.decode()
    assert "approved by bob" in page and "awaiting approval" in page
    assert 'name="version"' not in page and 'name="state"' not in page

    run = CommandRun.objects.get(command="deploy", service="web-app")
    page = admin_client.get(url(CommandRun, "change", run.pk)).content.decode()
    assert "/deploy web-app staging v2" in page and "Reply handle" not in page


def test_the_admin_is_branded(client, db):
    assert "ChatOps control room" in client.get(reverse("admin:login")).content.decode()


def test_service_change_page_shows_its_targets_inline(admin_client, catalog):
    service = Service.objects.get(name="web-app")
    response = admin_client.get(url(Service, "change", service.pk))

    (targets,) = response.context["inline_admin_formsets"]
    assert sorted(form.instance.environment.name for form in targets.formset.forms) == ["dev", "prod", "staging"]


def test_a_grant_added_in_the_admin_lets_carol_deploy(admin_client, carol):
    service, env = Service.objects.get(name="api"), Environment.objects.get(name="staging")
    assert not rbac.may(carol, "deploy", service, env)

    response = admin_client.post(
        url(Grant, "add"), {"user": carol.pk, "action": "deploy", "service": service.pk, "environment": env.pk}
    )

    assert response.status_code == 302
    assert rbac.may(carol, "deploy", service, env)
    assert not rbac.may(carol, "deploy", service, Environment.objects.get(name="prod"))


def test_a_grant_for_nobody_is_refused_by_the_form(admin_client, catalog):
    before = Grant.objects.count()
    response = admin_client.post(url(Grant, "add"), {"action": "deploy"})
    assert response.status_code == 200 and response.context["adminform"].form.errors
    assert Grant.objects.count() == before


@pytest.mark.parametrize("model", [Deployment, CommandRun])
def test_the_audit_trail_cannot_be_added_changed_or_deleted(admin_client, history, model):
    row = model.objects.first()
    before = model.objects.values().get(pk=row.pk)

    assert admin_client.get(url(model, "add")).status_code == 403
    assert admin_client.post(url(model, "add"), {}).status_code == 403
    assert admin_client.post(url(model, "change", row.pk), {"version": "evil", "text": "evil"}).status_code == 403
    assert admin_client.post(url(model, "delete", row.pk), {"post": "yes"}).status_code == 403
    bulk = {"action": "delete_selected", admin.helpers.ACTION_CHECKBOX_NAME: [row.pk], "post": "yes"}
    admin_client.post(url(model, "changelist"), bulk)

    assert model.objects.values().get(pk=row.pk) == before


def test_a_protected_environment_cannot_be_deleted(admin_client, catalog):
    kept = Environment.objects.create(name="qa", protected=True)
    gone = Environment.objects.create(name="sandbox")

    assert admin_client.post(url(Environment, "delete", kept.pk), {"post": "yes"}).status_code == 403
    bulk = {"action": "delete_selected", admin.helpers.ACTION_CHECKBOX_NAME: [kept.pk], "post": "yes"}
    admin_client.post(url(Environment, "changelist"), bulk)
    assert Environment.objects.filter(pk=kept.pk).exists()

    assert admin_client.post(url(Environment, "delete", gone.pk), {"post": "yes"}).status_code == 302
    assert not Environment.objects.filter(pk=gone.pk).exists()


def test_releasing_a_lock_records_who_and_starts_the_deploy_waiting_behind_it(
    admin_client, admin_user, alice, bob, django_capture_on_commit_callbacks
):
    target = DeployTarget.objects.get(service__name="api", environment__name="dev")
    lock = Lock.objects.create(target=target, locked_by=bob, reason="incident")
    waiting = Deployment.objects.create(target=target, version="v9", state=State.QUEUED, requested_by=alice)

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            url(Lock, "changelist"), {"action": "release", admin.helpers.ACTION_CHECKBOX_NAME: [lock.pk]}
        )

    assert response.status_code == 302
    lock.refresh_from_db()
    assert lock.released_at is not None and lock.released_by == admin_user
    waiting.refresh_from_db()
    assert waiting.state == State.SUCCEEDED


def test_a_lock_added_in_the_admin_belongs_to_the_admin_and_cannot_double_lock(admin_client, admin_user, catalog):
    target = DeployTarget.objects.get(service__name="api", environment__name="dev")

    assert admin_client.post(url(Lock, "add"), {"target": target.pk, "reason": "audit"}).status_code == 302
    assert Lock.objects.get().locked_by == admin_user

    response = admin_client.post(url(Lock, "add"), {"target": target.pk, "reason": "again"})
    assert response.status_code == 200 and "already has an open lock" in response.content.decode()
    assert Lock.objects.count() == 1


def test_an_installed_slack_workspace_is_listed_without_its_token(admin_client, db):
    installation = SlackInstallation.objects.create(
        team_id="T0001", team_name="Acme", bot_token_encrypted=crypto.encrypt("xoxb-secret-token")
    )

    page = admin_client.get(url(SlackInstallation, "change", installation.pk)).content.decode()
    assert "Acme" in page and "xoxb-secret-token" not in page and installation.bot_token_encrypted not in page
    assert admin_client.get(url(SlackInstallation, "add")).status_code == 403
