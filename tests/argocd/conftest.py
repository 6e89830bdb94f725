"""An Argo CD stub the settings point at, and web-app/staging deploying through it."""

from __future__ import annotations

import pytest

from tests.deploys.helpers import target_of
from tests.stubs.argocd import ArgoCDStub


@pytest.fixture
def argocd(settings, catalog, checks_inline):
    """A running Argo CD stub; web-app/staging deploys its app `web-staging` and posts to console:deploys."""
    with ArgoCDStub() as stub:
        settings.ARGOCD_URL = stub.url
        settings.ARGOCD_TOKEN = stub.token
        target = target_of("web-app", "staging")
        target.provider, target.settings, target.channel = "argocd", {"app": "web-staging"}, "console:deploys"
        target.save()
        yield stub
