"""Twenty people press deploy on the same target at the same moment: exactly one runs, none is lost.

Runs on whichever database the suite uses; `make test` runs the suite again on PostgreSQL whenever
one is reachable, which is where row locks and the partial unique index really get exercised.
"""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from chatops_site.catalog.models import DeployTarget, Environment, Service
from chatops_site.demo import seed_catalog
from chatops_site.deploys import engine
from chatops_site.deploys.models import Deployment

THREADS = 20


@pytest.mark.django_db(transaction=True)
def test_simultaneous_deploys_of_one_target_queue_behind_a_single_active_one(django_user_model):
    seed_catalog(delay="1h")  # the first deploy stays running for the whole test
    alice = django_user_model.objects.get(username="alice")
    service, env = Service.objects.get(name="api"), Environment.objects.get(name="staging")
    start = threading.Barrier(THREADS)

    def press_deploy(n: int) -> int:
        try:
            start.wait()
            return engine.request_deploy(alice, service, env, f"v{n}").pk
        finally:
            connection.close()

    with ThreadPoolExecutor(THREADS) as pool:
        ids = list(pool.map(press_deploy, range(THREADS)))

    assert len(set(ids)) == THREADS
    deployments = Deployment.objects.filter(target=DeployTarget.objects.get(service=service, environment=env))
    states = Counter(deployments.values_list("state", flat=True))
    assert states == {"running": 1, "queued": THREADS - 1}, (connection.vendor, states)
    # The one that runs is the first in the queue; the rest keep their order.
    queued = list(deployments.filter(state="queued").order_by("queued_at", "id").values_list("queued_at", flat=True))
    running = deployments.get(state="running")
    assert all(running.queued_at <= q for q in queued)
