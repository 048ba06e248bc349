"""Routes of the active-learning API, mounted under /api/v1/."""

from django.urls import path

from active_learning import api

urlpatterns = [
    path(
        "jobs/<id:job_id>/auto-labeling",
        api.AutoLabelingDetail.as_view(),
        name="api-auto-labeling",
    ),
    path(
        "jobs/<id:job_id>/auto-labeling/off",
        api.AutoLabelingOff.as_view(),
        name="api-auto-labeling-off",
    ),
    path(
        "jobs/<id:job_id>/auto-labeling/rounds",
        api.RoundList.as_view(),
        name="api-auto-labeling-rounds",
    ),
    path(
        "jobs/<id:job_id>/auto-labeling/models",
        api.ModelList.as_view(),
        name="api-auto-labeling-models",
    ),
    path(
        "jobs/<id:job_id>/auto-labeling/audits",
        api.AuditList.as_view(),
        name="api-auto-labeling-audits",
    ),
]

urlpatterns += [
    path(
        "jobs/<id:job_id>/auto-labeling/quality",
        api.AutoLabelQuality.as_view(),
        name="api-auto-labeling-quality",
    ),
]
