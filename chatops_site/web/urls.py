from django.urls import path

from chatops_site.web import views

app_name = "web"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("history/", views.history, name="history"),
    path("deployments/", views.deployments, name="deployments"),
    path("deployments/<int:pk>/", views.deployment, name="deployment"),
    path("costs/", views.costs, name="costs"),
    path("services/", views.services, name="services"),
    path("profile/", views.profile, name="profile"),
    path("profile/tokens/", views.create_token, name="create-token"),
    path("profile/tokens/revoke/", views.revoke_token, name="revoke-token"),
    path("command/", views.command, name="command"),
    path("command/<int:run_id>/messages/", views.follow_ups, name="follow-ups"),
]
