from django.urls import path, re_path
from rest_framework.routers import SimpleRouter

from chatops_site.web.api import views

app_name = "api"

router = SimpleRouter()
router.register("services", views.ServiceViewSet, basename="service")
router.register("deployments", views.DeploymentViewSet, basename="deployment")
router.register("locks", views.LockViewSet, basename="lock")
router.register("freezes", views.FreezeViewSet, basename="freeze")

urlpatterns = [
    path("environments/", views.EnvironmentList.as_view(), name="environments"),
    path("commands/", views.CommandRunList.as_view(), name="commands"),
    path("gates/", views.Gate.as_view(), name="gates"),
    path("costs/daily/", views.DailyCosts.as_view(), name="costs-daily"),
    path("costs/summary/", views.CostSummary.as_view(), name="costs-summary"),
    *router.urls,
    re_path(r"^", views.not_found),  # whatever is left, even with a newline in it
]
