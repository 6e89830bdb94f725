"""Settings, read once from the environment (and from a `.env` file when present).

Names are fixed by DESIGN.md; other code reads `django.conf.settings` only.
"""

from __future__ import annotations

import os
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
    """A secret setting. Values written `ssm:/path` are to be resolved from SSM Parameter Store."""
    return env(name)


DEBUG = envbool("DJANGO_DEBUG", default=False)
# The fallback is for a first look on a laptop; `check --deploy` flags it until production sets its own.
SECRET_KEY = secret("DJANGO_SECRET_KEY") or "django-insecure-development-key-set-DJANGO_SECRET_KEY"
ALLOWED_HOSTS = [h.strip() for h in env("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h.strip()]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
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
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
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
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(env("DATABASE_URL", f"sqlite:///{BASE_DIR / 'chatops.sqlite3'}"), conn_max_age=60)
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web server, queue workers and the console share one file: WAL lets readers run beside the
    # writer, IMMEDIATE takes the write lock at BEGIN so two writers queue instead of deadlocking.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
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
LOGIN_URL = "/admin/login/"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {
        "chatops": {"handlers": ["console"], "level": env("CHATOPS_LOG_LEVEL", "INFO"), "propagate": False},
    },
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
    "save_limit": 1000,
    "catch_up": False,
    "label": "Background tasks",
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"
    Q_CLUSTER["poll"] = 0.2

# Deploy policy.
CHATOPS_APPROVAL_TTL = envseconds("CHATOPS_APPROVAL_TTL", "30m")
CHATOPS_SIMULATED_DELAY = envseconds("CHATOPS_SIMULATED_DELAY", "5s")
# Commands a chat user may run before their account is linked to a ChatOps user.
CHATOPS_OPEN_COMMANDS = [c for c in env("CHATOPS_OPEN_COMMANDS", "help,whoami,status").split(",") if c]
# Where deployment announcements go; chat platforms plug in behind this one interface.
CHATOPS_NOTIFIER = env("CHATOPS_NOTIFIER", "bots.notify.ChatNotifier")

# Where news goes when no ChannelRoute matches it (e.g. "slack:C0123"); blank: nowhere.
CHATOPS_DEFAULT_CHANNEL = env("CHATOPS_DEFAULT_CHANNEL")
# Per chat user, e.g. "20/m"; shared by every web worker.
CHATOPS_RATE_LIMIT = env("CHATOPS_RATE_LIMIT", "30/m")

# Outside systems. Every *_API_URL defaults to the public service; tests and proxies point elsewhere.
SLACK_SIGNING_SECRET = secret("SLACK_SIGNING_SECRET")
SLACK_BOT_TOKEN = secret("SLACK_BOT_TOKEN")
SLACK_CLIENT_ID = env("SLACK_CLIENT_ID")
SLACK_CLIENT_SECRET = secret("SLACK_CLIENT_SECRET")
SLACK_API_URL = env("SLACK_API_URL", "https://slack.com/api/")
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
