"""Routes of the labeler portal (/work/) and the manager console (/console/)."""

from django.urls import path

from labeling import views
from labeling.console import views as console_views
from labeling.pipelines import views as pipelines_views
from labeling.quality import views as quality_views
from labeling.review import views as review_views
from labeling.task_ui import views as task_ui_views
from labeling.workforces import views as workforces_views

urlpatterns = [
    path("", views.home, name="home"),
    path("work/", views.work_jobs, name="work-jobs"),
    # issue 5: the crowd
    path("signup", workforces_views.signup, name="signup"),
    path("join/<str:token>", workforces_views.join_team, name="join-team"),
    path("work/marketplace", workforces_views.marketplace, name="work-marketplace"),
    path(
        "work/marketplace/<id:job_id>/join",
        workforces_views.marketplace_join_view,
        name="work-marketplace-join",
    ),
    path(
        "work/marketplace/<id:job_id>/qualification",
        workforces_views.qualification_view,
        name="work-qualification",
    ),
    path("work/jobs/<id:job_id>/", views.work_job, name="work-job"),
    path("work/assignments/<id:assignment_id>/ui", views.task_ui, name="work-task-ui"),
    # issue 5: the vendor console
    path("vendor/", workforces_views.vendor_console, name="vendor-console"),
    path("vendor/members", workforces_views.vendor_member_add_view, name="vendor-member-add"),
    path(
        "vendor/members/<id:user_id>/remove",
        workforces_views.vendor_member_remove_view,
        name="vendor-member-remove",
    ),
    path(
        "vendor/members/<id:user_id>/reset",
        workforces_views.vendor_member_reset_view,
        name="vendor-member-reset",
    ),
    path("console/", views.console_jobs, name="console-jobs"),
    path("console/jobs/new", views.job_new, name="console-job-new"),
    path("console/jobs/<id:job_id>/", views.job_dashboard, name="console-job"),
    path("console/jobs/<id:job_id>/start", views.job_start_view, name="console-job-start"),
    path("console/jobs/<id:job_id>/stop", views.job_stop_view, name="console-job-stop"),
    # issue 5: label quality
    path(
        "console/jobs/<id:job_id>/quality",
        quality_views.job_quality_page,
        name="console-job-quality",
    ),
    path(
        "console/jobs/<id:job_id>/quality/settings",
        quality_views.job_quality_settings_view,
        name="console-job-quality-settings",
    ),
    path(
        "console/jobs/<id:job_id>/gold",
        quality_views.job_gold_import_view,
        name="console-job-gold",
    ),
    path(
        "console/jobs/<id:job_id>/quality/reestimate",
        quality_views.job_reestimate_view,
        name="console-job-reestimate",
    ),
    path(
        "console/jobs/<id:job_id>/workers/<id:worker_id>/resume",
        quality_views.worker_resume_view,
        name="console-worker-resume",
    ),
    path(
        "console/jobs/<id:job_id>/workforce",
        workforces_views.job_workforce_page,
        name="console-job-workforce",
    ),
    path("console/teams", views.teams, name="console-teams"),
    path(
        "console/teams/<id:team_id>/invite",
        workforces_views.team_invite_view,
        name="console-team-invite",
    ),
    path("console/templates", task_ui_views.templates_list, name="console-templates"),
    path(
        "console/templates/<id:template_id>/",
        task_ui_views.template_edit,
        name="console-template",
    ),
    path("console/teams/labelers", views.labeler_add, name="console-labeler-add"),
    # A custom template's isolated frame and the element files it loads (issue 17).
    path("work/frame/<str:token>", task_ui_views.task_frame, name="work-task-frame"),
    path(
        "work/frame-assets/<path:name>",
        task_ui_views.task_frame_asset,
        name="work-task-frame-asset",
    ),
    # issue 14: the item page, review, comments, going back
    path(
        "console/jobs/<id:job_id>/items/<id:item_id>",
        review_views.item_page,
        name="console-item",
    ),
    path(
        "console/jobs/<id:job_id>/items/<id:item_id>/reopen",
        review_views.item_reopen_view,
        name="console-item-reopen",
    ),
    path(
        "console/jobs/<id:job_id>/reopen", review_views.job_reopen_view, name="console-job-reopen"
    ),
    path(
        "console/jobs/<id:job_id>/review",
        review_views.job_review_console,
        name="console-job-review",
    ),
    path(
        "console/jobs/<id:job_id>/review/settings",
        review_views.job_review_settings_view,
        name="console-job-review-settings",
    ),
    path(
        "console/jobs/<id:job_id>/items/<id:item_id>/comments",
        review_views.item_comment_view,
        name="item-comment",
    ),
    path("work/jobs/<id:job_id>/review", review_views.review_workspace, name="work-review"),
    path(
        "work/jobs/<id:job_id>/items/<id:item_id>/ui",
        review_views.item_task_ui,
        name="work-item-ui",
    ),
    path("work/jobs/<id:job_id>/answers", review_views.my_answers, name="work-my-answers"),
    path(
        "work/jobs/<id:job_id>/answers/<id:annotation_id>",
        review_views.answer_revise_page,
        name="work-answer-revise",
    ),
    # issue 14: the data manager
    path("console/jobs/<id:job_id>/items", console_views.data_manager, name="console-job-items"),
    # issue 14, round 2: @mentions
    path("mentions", review_views.mentions_page, name="mentions"),
    path("mentions/read", review_views.mentions_read, name="mentions-read"),
    # issue 16: pipelines' hooks
    path(
        "console/jobs/<id:job_id>/hooks",
        pipelines_views.job_hooks_page,
        name="console-job-hooks",
    ),
    # issue 16 (p16-chain): taxonomies
    path("console/taxonomies/new", pipelines_views.taxonomy_new, name="console-taxonomy-new"),
]
