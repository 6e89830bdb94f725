"""`manage.py catalog apply|export`: the catalog as code, as DESIGN.md writes it."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command

from chatops_site.catalog import sync
from chatops_site.catalog.catalog_file import dump, read
from chatops_site.catalog.models import ChannelRoute, ChatIdentity, DeployTarget, Environment, Grant, Service
from chatops_site.deploys.models import Deployment

# The example of DESIGN.md, word for word, plus a monthly budget.
DESIGN_EXAMPLE = """\
environments:
  - {name: dev, order: 10}
  - {name: prod, order: 30, requires_approval: true, protected: true}
services:
  - name: web-app
    repository: acme/web-app            # GitHub owner/name
    description: Public web front end
    team: web
    cost_tag: web-app                   # value of the COST_ALLOCATION_TAG tag in Cost Explorer
    budget: 1200.50
    aws:
      region: us-east-1
      ec2_instances: [i-0123456789abcdef0]
      ecs: [{cluster: prod, service: web}]
      eks_clusters: [main]
    thresholds: {cpu_warn: 70, cpu_critical: 90, memory_warn: 75, memory_critical: 90}
    targets:
      staging:
        provider: github_actions        # simulated | github_actions | jenkins | argocd
        settings: {workflow: deploy.yml, ref: main}   # jenkins: {job: folder/name}; argocd: {app: ...}
        default_version: main
        channel: slack:C0123456789      # slack:<channel id> | discord:<channel id> | discord-webhook:<url>
        timeout: 30m
grants:
  - {user: alice, actions: [deploy, rollback], services: [web-app], environments: [dev, staging]}
  - {group: sre, actions: [approve], environments: [prod]}   # no services/environments: all of them
identities:
  - {user: alice, platform: slack, workspace: T0123456789, chat_user: U0123456789}
routes:
  - {events: [pull_request], repository: acme/web-app, channel: "slack:C0123456789"}
  - {events: [deploy], service: api, channel: "discord:112233445566778899"}
  - {events: [cost_digest, cost_anomaly], channel: "slack:C0999999999"}
"""


@pytest.fixture
def catalog_cmd(catalog, tmp_path: Path, monkeypatch):
    """`manage.py catalog ...` on the demo catalog (plus a group sre): returns what it printed."""
    Group.objects.create(name="sre")

    def run(*args: str, text: str | None = None, stdin: str | None = None) -> str:
        if text is not None:
            path = tmp_path / "catalog.yaml"
            path.write_text(text)
            args = tuple(str(path) if a == "FILE" else a for a in args)
        if stdin is not None:
            monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        out = io.StringIO()
        call_command("catalog", *args, stdout=out)
        return out.getvalue()

    return run


def counts() -> dict[str, int]:
    models = (Environment, Service, DeployTarget, Grant, ChatIdentity, ChannelRoute)
    return {model.__name__: model.objects.count() for model in models}


def test_the_design_example_is_applied_row_by_row(catalog_cmd):
    output = catalog_cmd("apply", "FILE", text=DESIGN_EXAMPLE)

    web = Service.objects.get(name="web-app")
    assert (web.cost_tag, web.monthly_budget, web.aws_region) == ("web-app", Decimal("1200.50"), "us-east-1")
    assert web.ec2_instances == ["i-0123456789abcdef0"]
    assert web.ecs_services == [{"cluster": "prod", "service": "web"}]
    assert (web.eks_clusters, web.thresholds["memory_warn"]) == (["main"], 75)
    target = DeployTarget.objects.get(service=web, environment__name="staging")
    assert (target.provider, target.settings, target.channel) == (
        "github_actions",
        {"workflow": "deploy.yml", "ref": "main"},
        "slack:C0123456789",
    )
    assert target.timeout == timedelta(minutes=30)
    assert Grant.objects.filter(user__username="alice", service=web, action="rollback").count() == 2
    assert Grant.objects.filter(group__name="sre", action="approve", service=None, environment__name="prod").exists()
    assert ChatIdentity.objects.get(platform="slack", chat_user_id="U0123456789").user.username == "alice"
    assert ChannelRoute.objects.get(service__name="api").channel == "discord:112233445566778899"
    assert output.splitlines()[0].startswith("~ update service web-app: cost_tag (blank) -> 'web-app', ")
    assert output.splitlines()[-1].startswith("Applied ")


def test_applying_twice_changes_nothing_the_second_time(catalog_cmd):
    catalog_cmd("apply", "FILE", text=DESIGN_EXAMPLE)
    before = counts()

    output = catalog_cmd("apply", "FILE", text=DESIGN_EXAMPLE)

    assert output.startswith("Nothing to change")
    assert counts() == before


def test_export_piped_into_apply_changes_nothing(catalog_cmd):
    catalog_cmd("apply", "FILE", text=DESIGN_EXAMPLE)
    exported = catalog_cmd("export")

    assert catalog_cmd("apply", "-", stdin=exported).startswith("Nothing to change: the catalog already says")
    assert read(exported) == sync.snapshot()
    assert dump(read(exported)) == exported
    assert "- {group: sre, actions: [approve], environments: [prod]}" in exported


def test_a_dry_run_prints_the_changes_and_makes_none(catalog_cmd):
    before = counts()

    output = catalog_cmd("apply", "FILE", "--dry-run", text=DESIGN_EXAMPLE)

    lines = output.splitlines()
    assert "+ create route: deploy of api -> discord:112233445566778899" in lines
    assert lines[1].startswith("~ update target web-app/staging: provider 'simulated' -> 'github_actions', ")
    assert lines[-1].startswith("Dry run: ") and lines[-1].endswith("nothing was changed.")
    assert counts() == before
    assert not Service.objects.get(name="web-app").ec2_instances


def test_prune_removes_what_the_file_no_longer_names_but_never_history(catalog_cmd, say):
    say("alice", "/deploy worker dev v1")
    say("alice", "/deploy api staging v1")
    dev_only = """\
environments:
  - {name: dev, order: 10}
services:
  - name: web-app
    targets:
      dev: {provider: simulated, settings: {delay: 0s}, channel: "console:ops"}
grants: []
identities: []
routes: []
"""
    output = catalog_cmd("apply", "FILE", "--prune", text=dev_only)

    assert set(DeployTarget.objects.values_list("service__name", "environment__name")) == {
        ("web-app", "dev"),
        ("worker", "dev"),
        ("api", "staging"),
    }
    assert set(Service.objects.values_list("name", flat=True)) == {"web-app", "worker", "api"}
    assert set(Environment.objects.values_list("name", flat=True)) == {"dev", "staging", "prod"}
    assert Deployment.objects.count() == 2
    assert not Grant.objects.exists() and not ChatIdentity.objects.exists()
    assert "  kept target worker/dev: it has deployments or locks" in output.splitlines()
    assert "  kept environment prod: it is protected" in output.splitlines()
    assert "  kept environment staging: targets that stay are in it" in output.splitlines()


def test_a_section_the_file_leaves_out_is_left_alone_even_by_prune(catalog_cmd):
    before = counts()

    output = catalog_cmd("apply", "FILE", "--prune", text="environments:\n  - {name: dev, order: 10}\n")

    assert output.splitlines()[-1].startswith("Nothing to change")
    assert counts() == before


def test_with_prune_a_file_may_only_refer_to_what_it_names(catalog_cmd):
    with pytest.raises(CommandError) as refused:
        catalog_cmd("apply", "FILE", "--prune", text=DESIGN_EXAMPLE)

    assert "line 18: service web-app: unknown environment 'staging' (known: dev, prod)" in str(refused.value)
    assert "line 31: route: unknown service 'api' (known: web-app)" in str(refused.value)


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ("services:\n  - name: web-app\n    repo: acme/web-app\n", 3, "service: unknown key 'repo'"),
        (
            "services:\n  - name: api\n    targets:\n      dev:\n        provider: jenkin\n",
            5,
            "service api in dev: unknown provider 'jenkin'",
        ),
        ("grants:\n  - {user: zed, actions: [deploy]}\n", 2, "grant: there is no user 'zed'"),
        ("grants:\n  - {group: ops, actions: [deploy]}\n", 2, "grant: there is no group 'ops'"),
        (
            "routes:\n  - {events: [deploy],\n     channel: 'irc:#ops'}\n",
            3,
            "route: bad channel 'irc:#ops'",
        ),
        (
            "routes:\n  - {events: [deploy], channel: 'discord-webhook:http://127.0.0.1/api/webhooks/1/x'}\n",
            2,
            "route: bad channel 'discord-webhook:http://127.0.0.1/api/webhooks/1/x' (A discord-webhook: address must",
        ),
        (
            "services:\n  - name: api\n    targets:\n      dev:\n        provider: jenkins\n"
            "        settings:\n          job: ../../script\n",
            7,
            "service api in dev: settings: job '../../script' is not a Jenkins job",
        ),
        (
            "services:\n  - name: api\n    targets:\n      dev: {timeout: soon}\n",
            4,
            "service api in dev: timeout 'soon' is not a duration",
        ),
        ("services:\n  - name: api\n    targets:\n      qa: {}\n", 4, "service api: unknown environment 'qa'"),
        ("services:\n  - name: api\n  - name: api\n", 3, "service 'api' is named twice"),
        ("services:\n  - name: api\n    budget: lots\n", 3, "service api: budget must be an amount"),
        ("services:\n  - name: api\n    name: web\n", 3, "not valid YAML: duplicate key 'name'"),
        ("services:\n  - name: [api\n", 3, "not valid YAML"),
    ],
)
def test_an_invalid_file_is_refused_whole_with_its_line_and_reason(catalog_cmd, text, line, reason):
    before = counts()
    # A valid change first: it must not be made either.
    text = "environments:\n  - {name: qa-new, order: 5}\n" + text

    with pytest.raises(CommandError) as refused:
        catalog_cmd("apply", "FILE", text=text)

    assert "is refused; nothing was changed" in str(refused.value)
    assert f"catalog.yaml, line {line + 2}: {reason}" in str(refused.value)  # two lines were put in front
    assert counts() == before


def test_a_changed_field_is_shown_before_and_after(catalog_cmd):
    output = catalog_cmd("apply", "FILE", text="services:\n  - name: api\n    description: The public API\n")

    assert output.splitlines()[0] == (
        "~ update service api: repository 'acme/api' -> (blank), description 'REST API behind the apps' -> "
        "'The public API', team 'platform' -> (blank)"
    )


def test_the_admin_edits_the_same_aws_fields_by_the_same_rules(admin_client, catalog, rf, admin_user):
    web = Service.objects.get(name="web-app")
    page = admin_client.get(f"/admin/catalog/service/{web.pk}/change/").content.decode()
    for field in ("aws_region", "ec2_instances", "ecs_services", "eks_clusters", "thresholds", "monthly_budget"):
        assert f'name="{field}"' in page
    request = rf.get("/")
    request.user = admin_user
    form_class = admin.site._registry[Service].get_form(request, web)
    data = {"name": "web-app", "ec2_instances": '["bogus"]', "ecs_services": "[]", "eks_clusters": "[]"}

    form = form_class(data={**data, "thresholds": '{"cpu_warn": 95, "cpu_critical": 90}'}, instance=web)

    assert not form.is_valid()
    assert form.non_field_errors() == [
        "service web-app: EC2 instance: 'bogus' is not an instance id",
        "service web-app: cpu_warn is above cpu_critical",
    ]
    good = form_class(data={**data, "ec2_instances": '["i-0123456789abcdef0"]', "thresholds": "{}"}, instance=web)
    assert good.is_valid(), good.errors


def test_the_admin_checks_target_names_and_channels_by_the_same_rules(catalog, rf, admin_user):
    target = DeployTarget.objects.get(service__name="web-app", environment__name="staging")
    request = rf.get("/")
    request.user = admin_user
    form_class = admin.site._registry[DeployTarget].get_form(request, target)
    data = {
        "service": target.service_id,
        "environment": target.environment_id,
        "provider": "argocd",
        "default_version": "main",
        "timeout": "00:30:00",
    }

    bad = form_class(
        data={
            **data,
            "settings": '{"app": "../../session"}',
            "channel": "discord-webhook:http://10.0.0.5/webhooks/1/x",
        },
        instance=target,
    )
    good = form_class(
        data={
            **data,
            "settings": '{"app": "web-staging"}',
            "channel": "discord-webhook:https://discord.com/api/webhooks/1/x",
        },
        instance=target,
    )

    assert not bad.is_valid()
    assert bad.errors["settings"] == ["app '../../session' is not an Argo CD application (a-z, 0-9, - and .)"]
    assert bad.errors["channel"][0].startswith("A discord-webhook: address must be a Discord channel webhook")
    assert good.is_valid(), good.errors


def test_the_example_file_applies_to_the_demo_catalog(catalog_cmd):
    example = Path(__file__).resolve().parents[2] / "catalog.example.yaml"

    assert catalog_cmd("apply", str(example)).splitlines()[-1].startswith("Applied ")
    assert catalog_cmd("apply", str(example), "--prune").splitlines()[-1].startswith("Nothing to change")
    assert Service.objects.get(name="web-app").ec2_instances == ["i-0123456789abcdef0"]
