"""Routes of the labeling API, mounted under /api/v1/."""

from django.urls import path

from labeling import api
from labeling.console import api as console_api
from labeling.data import api as data_api
from labeling.pipelines import api as pipelines_api
from labeling.quality import api as quality_api
from labeling.review import api as review_api
from labeling.task_ui import api as task_ui_api
from labeling.workforces import api as workforces_api

urlpatterns = [
    path("teams", api.TeamListCreate.as_view(), name="api-teams"),
    path("teams/<id:team_id>/members", api.TeamMembers.as_view(), name="api-team-members"),
    path("workers", api.WorkerCreate.as_view(), name="api-workers"),
    path("jobs", api.JobListCreate.as_view(), name="api-jobs"),
    path("jobs/<id:job_id>", api.JobDetail.as_view(), name="api-job"),
    path("jobs/<id:job_id>/start", api.JobStart.as_view(), name="api-job-start"),
    path("jobs/<id:job_id>/stop", api.JobStop.as_view(), name="api-job-stop"),
    # issue 14: GET is the data manager's list, POST the import (labeling/data/api.py);
    # issue 16: on a streaming job, POST adds items at once (labeling/pipelines/api.py)
    path("jobs/<id:job_id>/items", pipelines_api.StreamJobItems.as_view(), name="api-job-items"),
    path("jobs/<id:job_id>/images", data_api.JobImagesImport.as_view(), name="api-job-images"),
    path("jobs/<id:job_id>/export", data_api.JobExport.as_view(), name="api-job-export"),
    path("jobs/<id:job_id>/stats", api.JobStats.as_view(), name="api-job-stats"),
    path("jobs/<id:job_id>/tasks/next", api.TaskNext.as_view(), name="api-task-next"),
    path("jobs/<id:job_id>/tasks/mine", api.TaskMine.as_view(), name="api-task-mine"),
    path("imports/<id:import_id>", data_api.ImportDetail.as_view(), name="api-import"),
    path(
        "assignments/<id:assignment_id>/submit", api.AssignmentSubmit.as_view(), name="api-submit"
    ),
    path("assignments/<id:assignment_id>/skip", api.AssignmentSkip.as_view(), name="api-skip"),
    path(
        "assignments/<id:assignment_id>/release",
        api.AssignmentRelease.as_view(),
        name="api-release",
    ),
    path("items/<id:item_id>/media", api.ItemMedia.as_view(), name="api-item-media"),
    # issue 5: label quality
    path("jobs/<id:job_id>/quality", quality_api.JobQuality.as_view(), name="api-job-quality"),
    path(
        "jobs/<id:job_id>/quality/reestimate",
        quality_api.JobQualityReestimate.as_view(),
        name="api-job-reestimate",
    ),
    path("jobs/<id:job_id>/gold", quality_api.JobGoldImport.as_view(), name="api-job-gold"),
    path(
        "jobs/<id:job_id>/items/<id:item_id>/gold",
        quality_api.ItemGoldMark.as_view(),
        name="api-item-gold",
    ),
    path("jobs/<id:job_id>/review", quality_api.JobReviewQueue.as_view(), name="api-job-review"),
    path(
        "jobs/<id:job_id>/items/<id:item_id>/final-label",
        quality_api.ItemFinalLabel.as_view(),
        name="api-item-final-label",
    ),
    path(
        "jobs/<id:job_id>/workers/<id:worker_id>/resume",
        quality_api.WorkerResume.as_view(),
        name="api-worker-resume",
    ),
    # issue 5: workforces
    path("crowd/signup", workforces_api.CrowdSignup.as_view(), name="api-crowd-signup"),
    path("marketplace", workforces_api.Marketplace.as_view(), name="api-marketplace"),
    path(
        "marketplace/<id:job_id>/join",
        workforces_api.MarketplaceJoin.as_view(),
        name="api-marketplace-join",
    ),
    path(
        "marketplace/<id:job_id>/qualification",
        workforces_api.MarketplaceQualification.as_view(),
        name="api-marketplace-qualification",
    ),
    path("me/earnings", workforces_api.MyEarnings.as_view(), name="api-my-earnings"),
    path("payouts.csv", workforces_api.PayoutReport.as_view(), name="api-payouts"),
    path("jobs/<id:job_id>/publish", workforces_api.JobPublish.as_view(), name="api-publish"),
    path("jobs/<id:job_id>/unpublish", workforces_api.JobUnpublish.as_view(), name="api-unpublish"),
    path("jobs/<id:job_id>/grant", workforces_api.JobGrant.as_view(), name="api-job-grant"),
    path("vendors", workforces_api.VendorCreate.as_view(), name="api-vendors"),
    path("vendor/members", workforces_api.VendorMembers.as_view(), name="api-vendor-members"),
    path(
        "vendor/members/<id:user_id>",
        workforces_api.VendorMember.as_view(),
        name="api-vendor-member",
    ),
    path(
        "teams/<id:team_id>/invitations",
        workforces_api.TeamInvitations.as_view(),
        name="api-team-invitations",
    ),
    path(
        "invitations/<str:token>/accept",
        workforces_api.InvitationAccept.as_view(),
        name="api-invitation-accept",
    ),
    path(
        "items/<id:item_id>/frames/<id:frame>",
        api.ItemFrame.as_view(),
        name="api-item-frame",
    ),
    # Custom task templates (issue 7)
    path("templates", task_ui_api.TemplateListCreate.as_view(), name="api-templates"),
    path("templates/preview", task_ui_api.TemplatePreview.as_view(), name="api-template-preview"),
    path("templates/<id:template_id>", task_ui_api.TemplateDetail.as_view(), name="api-template"),
    path(
        "templates/<id:template_id>/versions",
        task_ui_api.TemplateVersions.as_view(),
        name="api-template-versions",
    ),
    path(
        "templates/<id:template_id>/versions/<id:number>",
        task_ui_api.TemplateVersionDetail.as_view(),
        name="api-template-version",
    ),
    path(
        "jobs/<id:job_id>/template",
        task_ui_api.JobTemplateSet.as_view(),
        name="api-job-template",
    ),
    path("media/signed/<str:token>", task_ui_api.SignedMedia.as_view(), name="api-signed-media"),
    path("jobs/<id:job_id>/videos", data_api.JobVideosImport.as_view(), name="api-job-videos"),
    # issue 14: review, comments, history, going back
    path(
        "jobs/<id:job_id>/items/<id:item_id>/review",
        review_api.ItemReview.as_view(),
        name="api-item-review",
    ),
    path(
        "jobs/<id:job_id>/review/settings",
        review_api.JobReviewSettings.as_view(),
        name="api-job-review-settings",
    ),
    path(
        "jobs/<id:job_id>/items/<id:item_id>/comments",
        review_api.ItemComments.as_view(),
        name="api-item-comments",
    ),
    path(
        "jobs/<id:job_id>/items/<id:item_id>/history",
        review_api.ItemHistory.as_view(),
        name="api-item-history",
    ),
    path(
        "jobs/<id:job_id>/items/<id:item_id>/reopen",
        review_api.ItemReopen.as_view(),
        name="api-item-reopen",
    ),
    path("jobs/<id:job_id>/reopen", review_api.JobReopen.as_view(), name="api-job-reopen"),
    path("jobs/<id:job_id>/reviewers", review_api.JobReviewers.as_view(), name="api-job-reviewers"),
    path(
        "annotations/<id:annotation_id>/revise",
        review_api.AnnotationRevise.as_view(),
        name="api-annotation-revise",
    ),
    # issue 14: the data manager, bulk actions, live dashboards
    path(
        "jobs/<id:job_id>/items/count",
        console_api.JobItemsCount.as_view(),
        name="api-job-items-count",
    ),
    path(
        "jobs/<id:job_id>/bulk-actions",
        console_api.JobBulkActions.as_view(),
        name="api-job-bulk-actions",
    ),
    path(
        "jobs/<id:job_id>/bulk-actions/<id:action_id>",
        console_api.JobBulkAction.as_view(),
        name="api-job-bulk-action",
    ),
    path(
        "jobs/<id:job_id>/bulk-actions/<id:action_id>/download",
        console_api.JobBulkActionDownload.as_view(),
        name="api-job-bulk-action-download",
    ),
    path("jobs/<id:job_id>/live", console_api.JobLive.as_view(), name="api-job-live"),
    path(
        "items/<id:item_id>/thumbnail",
        console_api.ItemThumbnail.as_view(),
        name="api-item-thumbnail",
    ),
    # issue 16: streaming jobs (labeling/pipelines/api.py)
    path("jobs/<id:job_id>/stream", pipelines_api.JobStream.as_view(), name="api-job-stream"),
    path("jobs/<id:job_id>/results", pipelines_api.JobResults.as_view(), name="api-job-results"),
    # issue 16: pipelines' pre- and post-annotation hooks
    path("hooks", pipelines_api.HookListCreate.as_view(), name="api-hooks"),
    path("hooks/<id:hook_id>", pipelines_api.HookDetail.as_view(), name="api-hook"),
    path("jobs/<id:job_id>/hooks", pipelines_api.JobHooksDetail.as_view(), name="api-job-hooks"),
    path(
        "hook-payloads/<str:token>",
        pipelines_api.HookPayload.as_view(),
        name="api-hook-payload",
    ),
    # issue 16 (p16-chain): chained jobs and taxonomies
    path("jobs/<id:job_id>/chain", pipelines_api.JobChain.as_view(), name="api-job-chain"),
    path(
        "jobs/<id:job_id>/chain/export",
        pipelines_api.JobChainExport.as_view(),
        name="api-job-chain-export",
    ),
    path("taxonomies", pipelines_api.TaxonomyCreate.as_view(), name="api-taxonomies"),
    path(
        "taxonomies/<id:taxonomy_id>",
        pipelines_api.TaxonomyDetail.as_view(),
        name="api-taxonomy",
    ),
]
