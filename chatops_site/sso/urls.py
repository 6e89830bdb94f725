"""Mounted at /oidc/: register `https://<your host>/oidc/callback/` as the redirect URI at the provider."""

from django.urls import path

from chatops_site.sso import views

urlpatterns = [
    path("authenticate/", views.Start.as_view(), name="sso-start"),
    path("callback/", views.Callback.as_view(), name="sso-callback"),
]
