"""Redis (the broker and cache) restarted mid-burst, losing everything it held: nothing is lost for good.

The stack runs on a Redis server of this test's own, without persistence, so restarting it touches no
other test. The queued tasks it forgot are booked again by the sweep; every deployment ends once.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator

import pytest
import redis

from tests.faults.conftest import ENDED, simulated_targets, until
from tests.ops.test_production import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis]

TARGETS = [("web-app", "dev"), ("web-app", "staging"), ("api", "dev"), ("api", "staging")]


class RedisServer:
    def __init__(self, tmp_path) -> None:
        self.port, self.dir = free_port(), tmp_path
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(command, cwd=self.dir, stdout=subprocess.DEVNULL, start_new_session=True)
        until(self.answers, 10, "Redis to answer")

    def answers(self) -> bool:
        try:
            return bool(redis.Redis.from_url(self.url, socket_timeout=1).ping())
        except redis.RedisError:
            return False

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()  # everything it held is gone
            self.process.wait(timeout=10)


@pytest.fixture
def own_redis(tmp_path) -> Iterator[RedisServer]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed; the Redis restart test starts one of its own")
    server = RedisServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis_url(own_redis) -> str:
    return own_redis.url


def test_redis_restarted_mid_burst_loses_no_deployment(stack, github, own_redis):
    simulated_targets(stack, github, delay="2s")
    stack.deploy(*(f"/deploy {service} {env} v{n}" for n in (1, 2) for service, env in TARGETS))
    ids = [row[0] for row in stack.rows("SELECT id FROM deploys_deployment ORDER BY id")]
    until(lambda: "running" in stack.states(ids).values(), what="a deploy to run")

    own_redis.stop()  # mid-burst: some deploys running, some queued, tasks waiting in Redis
    own_redis.start()
    stack.deploy(*(f"/deploy {service} {env} v3" for service, env in TARGETS))  # asked after Redis came back
    ids = [row[0] for row in stack.rows("SELECT id FROM deploys_deployment ORDER BY id")]
    assert len(ids) == 12

    def ended() -> bool:
        # The minute sweep, as it runs once a lost task's lease is over (here on demand, a while ahead).
        stack.recover_lost_work()
        return set(stack.states(ids).values()) <= set(ENDED)

    until(ended, 50, "every deployment to end")
    assert set(stack.states(ids).values()) == {"succeeded"}
    endings = stack.rows(
        "SELECT deployment_id, count(*) FROM deploys_deploymentevent WHERE to_state = ANY(%s) GROUP BY 1",
        list(ENDED),
    )
    assert dict(endings) == dict.fromkeys(ids, 1)
