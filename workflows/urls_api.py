"""Routes of the review-loop API, mounted under /api/v1/."""

from django.urls import path

from workflows import api

urlpatterns = [
    path("flows", api.FlowListCreate.as_view(), name="api-flows"),
    path("flows/<int:flow_id>", api.FlowDetail.as_view(), name="api-flow"),
    path("flows/<int:flow_id>/stats", api.FlowStats.as_view(), name="api-flow-stats"),
    path(
        "flows/<int:flow_id>/predictions",
        api.FlowPredictions.as_view(),
        name="api-flow-predictions",
    ),
    path("flows/<int:flow_id>/loops", api.FlowLoops.as_view(), name="api-flow-loops"),
    path(
        "flows/<int:flow_id>/deliveries",
        api.FlowDeliveries.as_view(),
        name="api-flow-deliveries",
    ),
    path("flows/<int:flow_id>/tasks/next", api.FlowTaskNext.as_view(), name="api-flow-task-next"),
    path("loops/<str:name>", api.LoopDetail.as_view(), name="api-loop"),
    path("loops/<str:name>/stop", api.LoopStop.as_view(), name="api-loop-stop"),
]
