"""Routes of the labeler portal (/work/) and the manager console (/console/)."""

from django.urls import path

from labeling import views, views_templates

urlpatterns = [
    path("", views.home, name="home"),
    path("work/", views.work_jobs, name="work-jobs"),
    path("work/jobs/<int:job_id>/", views.work_job, name="work-job"),
    path("work/assignments/<int:assignment_id>/ui", views.task_ui, name="work-task-ui"),
    path("console/", views.console_jobs, name="console-jobs"),
    path("console/jobs/new", views.job_new, name="console-job-new"),
    path("console/jobs/<int:job_id>/", views.job_dashboard, name="console-job"),
    path("console/jobs/<int:job_id>/start", views.job_start_view, name="console-job-start"),
    path("console/jobs/<int:job_id>/stop", views.job_stop_view, name="console-job-stop"),
    path("console/teams", views.teams, name="console-teams"),
    path("console/templates", views_templates.templates_list, name="console-templates"),
    path(
        "console/templates/<int:template_id>/",
        views_templates.template_edit,
        name="console-template",
    ),
    path("console/teams/labelers", views.labeler_add, name="console-labeler-add"),
]
