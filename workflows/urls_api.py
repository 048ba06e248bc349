"""Routes of the review-loop API, mounted under /api/v1/."""

from django.urls import path

from workflows import api
from workflows.monitoring import api as monitoring_api

urlpatterns = [
    path("flows", api.FlowListCreate.as_view(), name="api-flows"),
    path("flows/<id:flow_id>", api.FlowDetail.as_view(), name="api-flow"),
    path("flows/<id:flow_id>/stats", api.FlowStats.as_view(), name="api-flow-stats"),
    path(
        "flows/<id:flow_id>/predictions",
        api.FlowPredictions.as_view(),
        name="api-flow-predictions",
    ),
    path("flows/<id:flow_id>/loops", api.FlowLoops.as_view(), name="api-flow-loops"),
    path(
        "flows/<id:flow_id>/deliveries",
        api.FlowDeliveries.as_view(),
        name="api-flow-deliveries",
    ),
    path("flows/<id:flow_id>/tasks/next", api.FlowTaskNext.as_view(), name="api-flow-task-next"),
    path("loops/<str:name>", api.LoopDetail.as_view(), name="api-loop"),
    path("loops/<str:name>/stop", api.LoopStop.as_view(), name="api-loop-stop"),
]

urlpatterns += [
    path(
        "flows/<id:flow_id>/monitoring",
        monitoring_api.FlowMonitoring.as_view(),
        name="api-flow-monitoring",
    ),
    path(
        "flows/<id:flow_id>/monitoring/alerts",
        monitoring_api.FlowMonitoringAlerts.as_view(),
        name="api-flow-monitoring-alerts",
    ),
    path(
        "flows/<id:flow_id>/monitoring/evaluate",
        monitoring_api.FlowMonitoringEvaluate.as_view(),
        name="api-flow-monitoring-evaluate",
    ),
    path(
        "flows/<id:flow_id>/monitoring/baselines",
        monitoring_api.FlowMonitoringBaselines.as_view(),
        name="api-flow-monitoring-baselines",
    ),
    path(
        "flows/<id:flow_id>/monitoring/settings",
        monitoring_api.FlowMonitoringSettings.as_view(),
        name="api-flow-monitoring-settings",
    ),
    path(
        "flows/<id:flow_id>/monitoring/ground-truth",
        monitoring_api.FlowGroundTruth.as_view(),
        name="api-flow-ground-truth",
    ),
    path(
        "flows/<id:flow_id>/monitoring/ground-truth/export",
        monitoring_api.FlowGroundTruthExport.as_view(),
        name="api-flow-ground-truth-export",
    ),
]

# Issue 17: exports of the built-in reviews (and of every flow's outputs).
urlpatterns += [
    path(
        "flows/<id:flow_id>/outputs.jsonl",
        api.FlowOutputsExport.as_view(),
        name="api-flow-outputs-export",
    ),
    path(
        "flows/<id:flow_id>/key-value-corrections.csv",
        api.FlowKeyValueCorrections.as_view(),
        name="api-flow-key-value-corrections",
    ),
]
