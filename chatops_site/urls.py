from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from bots.platforms.discord import views as discord_views
from bots.platforms.slack import views as slack_views
from chatops_site import health, metrics
from integrations.github import views as github_views

admin.site.site_header = "ChatOps control room"
admin.site.site_title = "ChatOps"
admin.site.index_title = "Catalog, RBAC and audit"

urlpatterns = [
    path("", include("chatops_site.web.urls")),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("oidc/", include("chatops_site.sso.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("chatops_site.web.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics_view, name="metrics"),
    path("discord/interactions", discord_views.interactions, name="discord-interactions"),
    path("slack/commands", slack_views.commands, name="slack-commands"),
    path("slack/interactions", slack_views.interactions, name="slack-interactions"),
    path("slack/events", slack_views.events, name="slack-events"),
    path("slack/install", slack_views.install, name="slack-install"),
    path("slack/oauth/callback", slack_views.oauth_callback, name="slack-oauth-callback"),
    path("github/webhook", github_views.webhook, name="github-webhook"),
]
