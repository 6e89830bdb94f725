"""Test settings: the real settings, with tasks run inline and a test database other processes can open."""

import atexit
import os
import shutil
import tempfile

from chatops_site.settings import *  # noqa: F403
from chatops_site.settings import CACHES, DATABASES, Q_CLUSTER

# django-q2 reads this once at import: every async_task runs synchronously in the test process.
Q_CLUSTER = {**Q_CLUSTER, "sync": True}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CHATOPS_SIMULATED_DELAY = 0.0
# A developer's demo repositories (`make run`) never reach the tests: those that use one make their own.
CHATOPS_GIT_REPOSITORIES = ""

# Each test process keeps its own files cache: the Slack fixtures clear it before every test, which must not
# empty it under a test running in the other pytest-xdist process (a "not asked again" or a count forgotten).
if CACHES["default"]["BACKEND"].endswith("FileBasedCache"):
    CACHES["default"]["LOCATION"] = os.path.join(tempfile.gettempdir(), f"chatops-test-cache-{os.getpid()}")
    atexit.register(shutil.rmtree, CACHES["default"]["LOCATION"], ignore_errors=True)

if DATABASES["default"]["ENGINE"] == "chatops_site.sqlite":
    # A file, not memory, so the end-to-end test's qcluster process sees the same database.
    DATABASES["default"]["TEST"] = {"NAME": os.path.join(tempfile.gettempdir(), f"chatops-test-{os.getpid()}.sqlite3")}
else:
    # Several suites may share one server (sessions, CI): each run gets its own test database.
    DATABASES["default"]["TEST"] = {"NAME": f"test_chatops_{os.getpid()}"}
# Fuzzing and race tests send hundreds of commands as one user; tests/ops sets the limits it checks.
CHATOPS_RATE_LIMIT = CHATOPS_WORKSPACE_RATE_LIMIT = "100000/m"
# No `collectstatic` before the tests: WhiteNoise finds files in the apps per request, as under `make run`.
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True
# This process traces only where a test switches it on (tests/ops/test_tracing.py): a developer's collector
# settings stay out of it, and out of the processes the end-to-end tests start with its environment.
for name in [name for name in os.environ if name.startswith("OTEL_")]:
    del os.environ[name]
