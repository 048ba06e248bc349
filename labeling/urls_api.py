"""Routes of the labeling API, mounted under /api/v1/."""

from django.urls import path

from labeling import api, api_templates

urlpatterns = [
    path("teams", api.TeamListCreate.as_view(), name="api-teams"),
    path("teams/<int:team_id>/members", api.TeamMembers.as_view(), name="api-team-members"),
    path("workers", api.WorkerCreate.as_view(), name="api-workers"),
    path("jobs", api.JobListCreate.as_view(), name="api-jobs"),
    path("jobs/<int:job_id>", api.JobDetail.as_view(), name="api-job"),
    path("jobs/<int:job_id>/start", api.JobStart.as_view(), name="api-job-start"),
    path("jobs/<int:job_id>/stop", api.JobStop.as_view(), name="api-job-stop"),
    path("jobs/<int:job_id>/items", api.JobItemsImport.as_view(), name="api-job-items"),
    path("jobs/<int:job_id>/images", api.JobImagesImport.as_view(), name="api-job-images"),
    path("jobs/<int:job_id>/export", api.JobExport.as_view(), name="api-job-export"),
    path("jobs/<int:job_id>/stats", api.JobStats.as_view(), name="api-job-stats"),
    path("jobs/<int:job_id>/tasks/next", api.TaskNext.as_view(), name="api-task-next"),
    path("jobs/<int:job_id>/tasks/mine", api.TaskMine.as_view(), name="api-task-mine"),
    path("imports/<int:import_id>", api.ImportDetail.as_view(), name="api-import"),
    path(
        "assignments/<int:assignment_id>/submit", api.AssignmentSubmit.as_view(), name="api-submit"
    ),
    path("assignments/<int:assignment_id>/skip", api.AssignmentSkip.as_view(), name="api-skip"),
    path(
        "assignments/<int:assignment_id>/release",
        api.AssignmentRelease.as_view(),
        name="api-release",
    ),
    path("items/<int:item_id>/media", api.ItemMedia.as_view(), name="api-item-media"),
    # Custom task templates (issue 7)
    path("templates", api_templates.TemplateListCreate.as_view(), name="api-templates"),
    path("templates/preview", api_templates.TemplatePreview.as_view(), name="api-template-preview"),
    path(
        "templates/<int:template_id>", api_templates.TemplateDetail.as_view(), name="api-template"
    ),
    path(
        "templates/<int:template_id>/versions",
        api_templates.TemplateVersions.as_view(),
        name="api-template-versions",
    ),
    path(
        "templates/<int:template_id>/versions/<int:number>",
        api_templates.TemplateVersionDetail.as_view(),
        name="api-template-version",
    ),
    path(
        "jobs/<int:job_id>/template",
        api_templates.JobTemplateSet.as_view(),
        name="api-job-template",
    ),
    path("media/signed/<str:token>", api_templates.SignedMedia.as_view(), name="api-signed-media"),
]
