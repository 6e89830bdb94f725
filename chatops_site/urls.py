from django.contrib import admin
from django.urls import path
from django.views.generic import RedirectView

from chatops_site import health

admin.site.site_header = "ChatOps control room"
admin.site.site_title = "ChatOps"
admin.site.index_title = "Catalog, RBAC and audit"

urlpatterns = [
    # The dashboard arrives with the web issue; until then the admin is the front page.
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
]
