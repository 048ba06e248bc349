"""Routes of the automated-labeling page in the manager console."""

from django.urls import path

from active_learning import views

urlpatterns = [
    path(
        "console/jobs/<id:job_id>/auto-labeling",
        views.job_auto_labeling,
        name="console-job-auto-labeling",
    ),
    path(
        "console/jobs/<id:job_id>/auto-labeling/on",
        views.job_auto_labeling_on,
        name="console-job-auto-labeling-on",
    ),
    path(
        "console/jobs/<id:job_id>/auto-labeling/off",
        views.job_auto_labeling_off,
        name="console-job-auto-labeling-off",
    ),
    path(
        "console/jobs/<id:job_id>/auto-labeling/round",
        views.job_round_now,
        name="console-job-round-now",
    ),
    path(
        "console/jobs/<id:job_id>/auto-labeling/audit",
        views.job_audit_start,
        name="console-job-audit",
    ),
]
