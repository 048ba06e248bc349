"""The API of review, comments, history and going back (issue 14; docs/review.md)."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling.api import ERRORS, _job_for
from labeling.converters import ObjectIdField
from labeling.errors import NotFound
from labeling.models import ReviewMode
from labeling.permissions import IsManager
from labeling.review import selectors
from labeling.review.services.comments import item_comment_add, item_comment_allowed
from labeling.review.services.reviews import (
    REJECT_MORE,
    REJECT_REWORK,
    job_review_configure,
    review_accept,
    review_fix,
    review_reject,
    team_reviewer_set,
)
from labeling.services.revisions import annotation_revise, item_reopen, job_reopen


class ReviewIn(serializers.Serializer):
    action = serializers.ChoiceField(choices=["accept", "fix", "reject"])
    answer = serializers.JSONField(required=False)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500)
    send_to = serializers.ChoiceField(choices=[REJECT_MORE, REJECT_REWORK], default=REJECT_MORE)


class ReviewOut(serializers.Serializer):
    item_id = serializers.IntegerField()
    outcome = serializers.CharField()
    label = serializers.CharField(allow_blank=True)
    next_item_id = serializers.IntegerField(allow_null=True)


class ItemReview(APIView):
    """A reviewer's decision on an item's label: accept, fix (an answer of the task type) or
    reject (back for more answers, or back to its workers)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=ReviewIn, responses={200: ReviewOut, **ERRORS}, summary="Review a label")
    def post(self, request: Request, job_id: int, item_id: int) -> Response:
        job = _job_for(request, job_id)
        data = ReviewIn(data=request.data)
        data.is_valid(raise_exception=True)
        action = data.validated_data["action"]
        label = ""
        if action == "accept":
            label = review_accept(job=job, item_id=item_id, reviewer=request.user).label
            outcome = "accepted"
        elif action == "fix":
            if "answer" not in data.validated_data:
                raise serializers.ValidationError({"answer": "a fix needs an answer"})
            fixed = review_fix(
                job=job,
                item_id=item_id,
                reviewer=request.user,
                answer=data.validated_data["answer"],
            )
            label, outcome = fixed.label, fixed.review_status
        else:
            review_reject(
                job=job,
                item_id=item_id,
                reviewer=request.user,
                reason=data.validated_data.get("reason", ""),
                send_to=data.validated_data["send_to"],
            )
            outcome = "rejected"
        following = selectors.job_review_next(job=job, after_item_id=item_id)
        return Response(
            {"item_id": item_id, "outcome": outcome, "label": label, "next_item_id": following}
        )


class ReviewSettingsIn(serializers.Serializer):
    mode = serializers.ChoiceField(choices=ReviewMode.choices)
    share = serializers.FloatField(min_value=0, max_value=1, required=False)
    below = serializers.FloatField(min_value=0, max_value=1, required=False)
    revise_window_seconds = serializers.IntegerField(
        min_value=0, max_value=30 * 86400, required=False, allow_null=True
    )


class JobReviewSettings(APIView):
    permission_classes = [IsManager]

    @extend_schema(
        request=ReviewSettingsIn,
        responses={200: ReviewSettingsIn, **ERRORS},
        summary="Set a job's review stage and revise window",
    )
    def post(self, request: Request, job_id: int) -> Response:
        job = _job_for(request, job_id)
        data = ReviewSettingsIn(data=request.data)
        data.is_valid(raise_exception=True)
        job = job_review_configure(job=job, **data.validated_data)
        return Response(
            {
                "mode": job.review_mode,
                "share": job.review_share,
                "below": job.review_below_confidence,
                "revise_window_seconds": job.revise_window_seconds,
            }
        )


class CommentIn(serializers.Serializer):
    body = serializers.CharField(max_length=5000)
    region = serializers.JSONField(required=False, allow_null=True)


class CommentOut(serializers.Serializer):
    id = serializers.IntegerField()
    author = serializers.CharField()
    body = serializers.CharField()
    region = serializers.JSONField(allow_null=True)
    mentions = serializers.ListField(child=serializers.CharField())
    created_at = serializers.DateTimeField()


class ItemComments(APIView):
    permission_classes = [IsAuthenticated]

    def _item(self, request: Request, job_id: int, item_id: int):
        job = _job_for(request, job_id)
        item = selectors.item_for_job(job=job, item_id=item_id)
        if item is None or not item_comment_allowed(job=job, item_id=item_id, user=request.user):
            raise NotFound(f"there is no item {item_id} that you can see")
        return job, item

    @extend_schema(responses={200: CommentOut(many=True), **ERRORS}, summary="An item's comments")
    def get(self, request: Request, job_id: int, item_id: int) -> Response:
        _, item = self._item(request, job_id, item_id)
        return Response(CommentOut(selectors.item_comments(item=item), many=True).data)

    @extend_schema(
        request=CommentIn, responses={201: CommentOut, **ERRORS}, summary="Comment on an item"
    )
    def post(self, request: Request, job_id: int, item_id: int) -> Response:
        job, item = self._item(request, job_id, item_id)
        data = CommentIn(data=request.data)
        data.is_valid(raise_exception=True)
        comment = item_comment_add(
            job=job,
            item_id=item.pk,
            author=request.user,
            body=data.validated_data["body"],
            region=data.validated_data.get("region"),
        )
        row = next(c for c in selectors.item_comments(item=item) if c["id"] == comment.pk)
        return Response(CommentOut(row).data, status=status.HTTP_201_CREATED)


class HistoryOut(serializers.Serializer):
    at = serializers.DateTimeField()
    kind = serializers.CharField()
    who = serializers.CharField()
    what = serializers.CharField()
    data = serializers.JSONField(allow_null=True)


class ItemHistory(APIView):
    permission_classes = [IsManager]

    @extend_schema(responses={200: HistoryOut(many=True), **ERRORS}, summary="An item's history")
    def get(self, request: Request, job_id: int, item_id: int) -> Response:
        job = _job_for(request, job_id)
        item = selectors.item_for_job(job=job, item_id=item_id)
        if item is None:
            raise NotFound(f"there is no item {item_id} in this job")
        rows = selectors.item_history(item=item)
        return Response(HistoryOut([row.__dict__ for row in rows], many=True).data)


class ReopenIn(serializers.Serializer):
    more_answers = serializers.IntegerField(min_value=0, max_value=9, default=1)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500)


class ItemReopen(APIView):
    permission_classes = [IsManager]

    @extend_schema(
        request=ReopenIn,
        responses={200: OpenApiResponse(description="{item_id, status}"), **ERRORS},
        summary="Reopen a labeled item for more answers",
    )
    def post(self, request: Request, job_id: int, item_id: int) -> Response:
        job = _job_for(request, job_id)
        data = ReopenIn(data=request.data)
        data.is_valid(raise_exception=True)
        item = item_reopen(
            job=job,
            item_id=item_id,
            by=request.user,
            more=max(1, data.validated_data["more_answers"]),
            reason=data.validated_data.get("reason", ""),
        )
        return Response({"item_id": item.pk, "status": item.status})


class JobReopen(APIView):
    permission_classes = [IsManager]

    @extend_schema(
        request=ReopenIn,
        responses={200: OpenApiResponse(description="{job_id, status}"), **ERRORS},
        summary="Reopen a completed job (with more_answers: every item for that many more)",
    )
    def post(self, request: Request, job_id: int) -> Response:
        job = _job_for(request, job_id)
        data = ReopenIn(data=request.data)
        data.is_valid(raise_exception=True)
        job = job_reopen(job=job, by=request.user, more=data.validated_data["more_answers"])
        return Response({"job_id": job.pk, "status": job.status})


class ReviseIn(serializers.Serializer):
    answer = serializers.JSONField()


class AnnotationRevise(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=ReviseIn,
        responses={200: OpenApiResponse(description="{annotation_id, revised_at}"), **ERRORS},
        summary="Revise one of my answers",
    )
    def post(self, request: Request, annotation_id: int) -> Response:
        data = ReviseIn(data=request.data)
        data.is_valid(raise_exception=True)
        annotation = annotation_revise(
            annotation_id=annotation_id, worker=request.user, answer=data.validated_data["answer"]
        )
        return Response({"annotation_id": annotation.pk, "revised_at": annotation.revised_at})


class ReviewerIn(serializers.Serializer):
    user_id = ObjectIdField()
    reviewer = serializers.BooleanField(default=True)


class ReviewerOut(serializers.Serializer):
    user_id = serializers.IntegerField()
    username = serializers.CharField()
    reviewer = serializers.BooleanField()


class JobReviewers(APIView):
    """The members of a job's team and who of them reviews (a role on the team)."""

    permission_classes = [IsManager]

    @extend_schema(responses={200: ReviewerOut(many=True), **ERRORS}, summary="A job's reviewers")
    def get(self, request: Request, job_id: int) -> Response:
        job = _job_for(request, job_id)
        return Response(ReviewerOut(selectors.job_team_members(job=job), many=True).data)

    @extend_schema(
        request=ReviewerIn,
        responses={200: ReviewerOut(many=True), **ERRORS},
        summary="Give or take the reviewer role of a member of the job's team",
    )
    def post(self, request: Request, job_id: int) -> Response:
        job = _job_for(request, job_id)
        data = ReviewerIn(data=request.data)
        data.is_valid(raise_exception=True)
        team_reviewer_set(job=job, **data.validated_data)
        return Response(ReviewerOut(selectors.job_team_members(job=job), many=True).data)
