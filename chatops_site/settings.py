"""Settings, read once from the environment (and from a `.env` file when present).

Names are fixed by DESIGN.md; other code reads `django.conf.settings` only.
"""

from __future__ import annotations

import os
import tempfile
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from dotenv import load_dotenv

from chatops_site.durations import parse_duration

BASE_DIR = Path(__file__).resolve().parent.parent
load_dotenv(BASE_DIR / ".env")


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def envbool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}")


def envseconds(name: str, default: str) -> float:
    value = env(name, default)
    try:
        return parse_duration(value).total_seconds()
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}: {exc}") from None


def secret(name: str) -> str:
    """A secret setting. A value written `ssm:/path` is read (decrypted) from SSM Parameter Store, once,
    here at start-up; a parameter that cannot be read stops the start, naming it but never a value."""
    value = env(name)
    if not value.startswith("ssm:"):
        return value
    from integrations.aws import ssm  # boto3 is loaded only by installations that use it

    try:
        return ssm.parameter(value.removeprefix("ssm:"))
    except ssm.ParameterError as exc:
        raise ImproperlyConfigured(f"{name}: {exc}") from None


DEBUG = envbool("DJANGO_DEBUG", default=False)
# The fallback is for a first look on a laptop; with DJANGO_DEBUG off, gunicorn, qcluster, runserver and
# `check --deploy` refuse it (chatops_site/ops/production.py).
SECRET_KEY = secret("DJANGO_SECRET_KEY") or "django-insecure-development-key-set-DJANGO_SECRET_KEY"
ALLOWED_HOSTS = [h.strip() for h in env("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h.strip()]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    # Before staticfiles, whose `runserver` ours extends (the first app with a command wins).
    "chatops_site.ops",
    "django.contrib.staticfiles",
    "rest_framework",
    # API tokens: the model is chatops_site.web's ApiToken (KNOX_TOKEN_MODEL below), knox supplies the hashing.
    "knox",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_q",
    "chatops_site.catalog",
    "chatops_site.deploys",
    "chatops_site.web",
    "bots",
    "integrations.github",
    "costs",
    "chatops_site.webhooks",
]

MIDDLEWARE = [
    "chatops_site.logs.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Serves collected static files (the admin's CSS) from gunicorn itself, compressed and cached.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # A view that meets a database not answering says so in a form its client shows (outage.py).
    "chatops_site.outage.OutageMiddleware",
]

ROOT_URLCONF = "chatops_site.urls"
WSGI_APPLICATION = "chatops_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "chatops_site.sso.context.sso",
            ],
        },
    },
]

# A connection is kept for a minute, and checked before a request or task uses it again: one the server
# dropped (a restart, a cut connection) is replaced, instead of failing that request or losing that task.
DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", f"sqlite:///{BASE_DIR / 'chatops.sqlite3'}"), conn_max_age=60, conn_health_checks=True
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web server, queue workers and the console share one file: WAL lets readers run beside the
    # writer, IMMEDIATE takes the write lock at BEGIN so two writers queue instead of deadlocking.
    DATABASES["default"]["ENGINE"] = "chatops_site.sqlite"
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Compressed but not renamed by hash: pages render the same with or without `collectstatic`.
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# Production behind a proxy that terminates TLS and sets X-Forwarded-Proto (`check --deploy` is clean
# with DJANGO_HTTPS=true, a real DJANGO_SECRET_KEY and DJANGO_ALLOWED_HOSTS). Probes and the metrics
# scrape stay reachable over plain HTTP inside the network.
if envbool("DJANGO_HTTPS", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(env("DJANGO_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = envbool("DJANGO_HSTS_PRELOAD", default=True)
# `make prod` stops on any `check --deploy` warning. drf-spectacular's W001 says a filter's type in the API
# schema was guessed (as text, which is right for names): a note on the documentation, not a danger.
SILENCED_SYSTEM_CHECKS = ["drf_spectacular.W001"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "web:overview"
LOGOUT_REDIRECT_URL = "login"
# Passwords, and single sign-on when it is configured (below); the SSO backend answers only its own callback.
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend", "chatops_site.sso.backend.SsoBackend"]

# Single sign-on with OpenID Connect (chatops_site/sso): on when the issuer, the client id and its secret are
# all set. The provider's endpoints are discovered from the issuer at the first sign-in, never here.
OIDC_ISSUER = env("OIDC_ISSUER")
OIDC_CLIENT_ID = env("OIDC_CLIENT_ID")
OIDC_CLIENT_SECRET = secret("OIDC_CLIENT_SECRET")
if len({bool(OIDC_ISSUER), bool(OIDC_CLIENT_ID), bool(OIDC_CLIENT_SECRET)}) > 1:
    raise ImproperlyConfigured("OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET go together: set all three or none")
OIDC_SCOPES = env("OIDC_SCOPES", "openid email profile")
# The claim that lists the user's groups; each sign-in sets the user's Django groups to those of them that exist.
OIDC_GROUPS_CLAIM = env("OIDC_GROUPS_CLAIM", "groups")
# A verified email no user has yet makes a user (who holds nothing but their groups' grants); off: refused.
OIDC_CREATE_USERS = envbool("OIDC_CREATE_USERS", default=True)

# The REST API (/api/v1/): tokens for tools, the session for the dashboard's own calls; see chatops_site/web/api.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "chatops_site.web.api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "chatops_site.web.api.errors.handle",
}
# API tokens: `Authorization: Token <key>`, as DRF's own tokens were, so clients only need a new key.
CHATOPS_API_TOKEN_DAYS = int(env("CHATOPS_API_TOKEN_DAYS", "90"))
if CHATOPS_API_TOKEN_DAYS < 1:
    raise ImproperlyConfigured(f"CHATOPS_API_TOKEN_DAYS must be at least 1, not {CHATOPS_API_TOKEN_DAYS}")
# The name of the model knox keeps tokens in (a name, not a secret).
KNOX_TOKEN_MODEL = "web.ApiToken"  # noqa: S105
# knox's migrations would make its own token table, which ApiToken replaces.
MIGRATION_MODULES = {"knox": None}
REST_KNOX = {"TOKEN_TTL": timedelta(days=CHATOPS_API_TOKEN_DAYS), "AUTH_HEADER_PREFIX": "Token"}
SPECTACULAR_SETTINGS = {
    "TITLE": "ChatOps control room API",
    "DESCRIPTION": "Deploys, approvals, locks, command history and costs, under the same RBAC as chat. "
    "Authenticate with `Authorization: Token <key>` (make one on your profile page).",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # The docs page's JavaScript and CSS come from drf-spectacular-sidecar's static files, not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "DeploymentStateEnum": "chatops_site.deploys.models.State",
        "DeploymentKindEnum": "chatops_site.deploys.models.Kind",
    },
}

# `json` in production: one JSON object per line with the request id (see chatops_site/logs.py).
CHATOPS_LOG_FORMAT = env("CHATOPS_LOG_FORMAT", "plain")
if CHATOPS_LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(f"CHATOPS_LOG_FORMAT must be plain or json, not {CHATOPS_LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "chatops_site.logs.ContextFilter"}},
    "formatters": {
        "plain": {"()": "chatops_site.logs.PlainFormatter", "fmt": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "json": {"()": "chatops_site.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": CHATOPS_LOG_FORMAT, "filters": ["context"]}
    },
    "loggers": {
        "chatops": {"handlers": ["console"], "level": env("CHATOPS_LOG_LEVEL", "INFO"), "propagate": False},
        # One line per task queued and per task done: the same knob as ours.
        "django-q": {"handlers": ["console"], "level": env("CHATOPS_LOG_LEVEL", "INFO"), "propagate": False},
        # Django's own handlers (the debug console, runserver's request lines with their query strings)
        # would write past the redaction; ours instead.
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
    "root": {"handlers": ["console"], "level": "WARNING"},
}

# Background work (django-q2). `retry` must stay above `timeout`, or a broker with receipts hands a
# still-running task out again; every task here is short (slow deploys are followed by re-scheduled
# checks), so a one-minute timeout is generous.
REDIS_URL = env("REDIS_URL")
Q_CLUSTER = {
    "name": env("CHATOPS_QUEUE_NAME", "chatops"),
    "workers": int(env("CHATOPS_QUEUE_WORKERS", "4")),
    "timeout": 60,
    "retry": 120,
    "max_attempts": 3,
    "ack_failures": True,
    # Failed tasks are kept (the admin's "Failed tasks"); a task that succeeded leaves its log line and its
    # effects. Keeping successes too would cost every task a read of all those kept (django-q2 prunes them
    # that way), a queue worker's biggest cost per chat command with a thousand kept.
    "save_limit": -1,
    "catch_up": False,
    "label": "Background tasks",
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"
    Q_CLUSTER["poll"] = 0.2

# Shared by every process (django-q2 keeps its cluster status here): Redis when there is one, else
# files on this machine. Rate limits do not depend on it; they count in the database.
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": Q_CLUSTER["name"],
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": Path(tempfile.gettempdir()) / f"chatops-cache-{Q_CLUSTER['name']}",
        }
    }

# Deploy policy.
CHATOPS_APPROVAL_TTL = envseconds("CHATOPS_APPROVAL_TTL", "30m")
CHATOPS_SIMULATED_DELAY = envseconds("CHATOPS_SIMULATED_DELAY", "5s")
# The watch after a deploy reads the offline demo's alarms (`manage.py demo_alarm`) instead of CloudWatch.
CHATOPS_DEMO_ALARMS = envbool("CHATOPS_DEMO_ALARMS", default=False)
# Commands a chat user may run before their account is linked to a ChatOps user.
CHATOPS_OPEN_COMMANDS = [c for c in env("CHATOPS_OPEN_COMMANDS", "help,whoami,status").split(",") if c]
# Where deployment announcements go; chat platforms plug in behind this one interface.
CHATOPS_NOTIFIER = env("CHATOPS_NOTIFIER", "bots.notify.ChatNotifier")

# Where news goes when no ChannelRoute matches it (e.g. "slack:C0123"); blank: nowhere.
CHATOPS_DEFAULT_CHANNEL = env("CHATOPS_DEFAULT_CHANNEL")
# Fernet key for the tokens stored in the database (Slack installs, GitHub); blank: derived from the secret key.
CHATOPS_ENCRYPTION_KEY = secret("CHATOPS_ENCRYPTION_KEY")
# Per chat user, e.g. "20/m"; shared by every web worker.
CHATOPS_RATE_LIMIT = env("CHATOPS_RATE_LIMIT", "30/m")
# Per Slack workspace or Discord guild, all its users together.
CHATOPS_WORKSPACE_RATE_LIMIT = env("CHATOPS_WORKSPACE_RATE_LIMIT", "300/m")
# GitHub webhook payloads older than this many days are emptied by the daily housekeeping; the rows stay.
CHATOPS_WEBHOOK_PAYLOAD_DAYS = int(env("CHATOPS_WEBHOOK_PAYLOAD_DAYS", "14"))

# Outside systems. Every *_API_URL defaults to the public service; tests and proxies point elsewhere.
SLACK_SIGNING_SECRET = secret("SLACK_SIGNING_SECRET")
SLACK_BOT_TOKEN = secret("SLACK_BOT_TOKEN")
SLACK_CLIENT_ID = env("SLACK_CLIENT_ID")
SLACK_CLIENT_SECRET = secret("SLACK_CLIENT_SECRET")
SLACK_API_URL = env("SLACK_API_URL", "https://slack.com/api/")
# Link an unknown Slack user to the Django user with the same email (Slack's users.info); off by default.
SLACK_LINK_BY_EMAIL = envbool("SLACK_LINK_BY_EMAIL", default=False)
DISCORD_APPLICATION_ID = env("DISCORD_APPLICATION_ID")
DISCORD_PUBLIC_KEY = env("DISCORD_PUBLIC_KEY")
DISCORD_BOT_TOKEN = secret("DISCORD_BOT_TOKEN")
DISCORD_API_URL = env("DISCORD_API_URL", "https://discord.com/api/v10")
GITHUB_WEBHOOK_SECRET = secret("GITHUB_WEBHOOK_SECRET")
GITHUB_APP_ID = env("GITHUB_APP_ID")
GITHUB_APP_PRIVATE_KEY = secret("GITHUB_APP_PRIVATE_KEY")
GITHUB_APP_PRIVATE_KEY_PATH = env("GITHUB_APP_PRIVATE_KEY_PATH")
GITHUB_TOKEN = secret("GITHUB_TOKEN")
GITHUB_API_URL = env("GITHUB_API_URL", "https://api.github.com")
# Where people read commits and compares; set it with GITHUB_API_URL for GitHub Enterprise.
GITHUB_WEB_URL = env("GITHUB_WEB_URL", "https://github.com")
# A directory of local git repositories (`<owner>/<name>` or `<owner>/<name>.git`) to pin and list commits in
# when GitHub is not configured: the demo's (seed_demo makes them there), or a team's mirrors.
CHATOPS_GIT_REPOSITORIES = env("CHATOPS_GIT_REPOSITORIES", str(BASE_DIR / "var" / "repositories"))
JENKINS_URL = env("JENKINS_URL")
JENKINS_USER = env("JENKINS_USER")
JENKINS_API_TOKEN = secret("JENKINS_API_TOKEN")
ARGOCD_URL = env("ARGOCD_URL")
ARGOCD_TOKEN = secret("ARGOCD_TOKEN")
METRICS_BEARER_TOKEN = secret("METRICS_BEARER_TOKEN")

# Costs (AWS Cost Explorer); cost days are UTC calendar days.
COST_ALLOCATION_TAG = env("COST_ALLOCATION_TAG", "service")
COST_METRIC = env("COST_METRIC", "UnblendedCost")
COST_DIGEST_TIME = env("COST_DIGEST_TIME", "09:00")
COST_DIGEST_TIME_ZONE = env("COST_DIGEST_TIME_ZONE", "UTC")
