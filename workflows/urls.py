"""Routes of the review-loop pages in the manager console (/console/flows/…, access keys)."""

from django.urls import path

from workflows import views
from workflows.monitoring import views as monitoring_views

urlpatterns = [
    path("console/flows/", views.flows, name="console-flows"),
    path("console/flows/new", views.flow_new, name="console-flow-new"),
    path("console/flows/<id:flow_id>/", views.flow_dashboard, name="console-flow"),
    path(
        "console/flows/<id:flow_id>/loops/<str:name>/stop",
        views.loop_stop_view,
        name="console-loop-stop",
    ),
    path("console/access-keys", views.access_keys, name="console-access-keys"),
    path(
        "console/access-keys/<id:key_id>/revoke",
        views.access_key_revoke_view,
        name="console-access-key-revoke",
    ),
]

urlpatterns += [
    path(
        "console/flows/<id:flow_id>/monitoring",
        monitoring_views.flow_monitoring,
        name="console-flow-monitoring",
    ),
]
