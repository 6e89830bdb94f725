"""ARGOCD_TOKEN goes to ARGOCD_URL only: every URL is ARGOCD_URL plus a checked application name."""

from __future__ import annotations

import pytest

from chatops_site.deploys.models import Deployment, State
from tests.deploys.helpers import target_of
from tests.stubs import Answer, StubServer


def test_a_redirect_to_another_origin_is_followed_without_the_token(argocd, say):
    argocd.app("web-staging")
    with StubServer() as elsewhere:
        argocd.route(
            "GET", r"/api/v1/applications/web-staging", lambda call: Answer(302, "", {"Location": elsewhere.url})
        )

        say("alice", "/deploy web-app staging v1")

    assert elsewhere.calls and all(call.header("Authorization") == "" for call in elsewhere.calls)
    assert argocd.calls_to(r"/api/v1/applications/web-staging/sync")[0].header("Authorization") == "Bearer argocd-token"


@pytest.mark.parametrize("app", ["../../session", "web-staging/../../settings", "Web_Staging", "web staging", "-web"])
def test_an_app_name_argo_cd_would_not_give_is_refused_before_argo_cd_is_called(argocd, say, app):
    target = target_of("web-app", "staging")
    target.settings = {"app": app}  # saved around the checks, as a row from before them would be
    target.save()

    say("alice", "/deploy web-app staging v1")

    deployment = Deployment.objects.get()
    assert deployment.state == State.FAILED
    assert deployment.detail == (
        f"could not start the deploy: web-app/staging: app {app!r} is not an Argo CD application (a-z, 0-9, - and .)"
    )
    assert argocd.calls == []
