"""The label-quality API (managers only): settings, estimates, gold items, review queue."""

import json

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling.api import ERRORS, _job_for
from labeling.models import ConsolidationMethod, GoldPurpose, User
from labeling.permissions import IsManager
from labeling.quality import selectors
from labeling.quality.services.gold import gold_item_mark, gold_items_add, worker_resume
from labeling.quality.services.reliability import (
    QUALITY_FIELDS,
    consolidated_label_set_final,
    job_quality_configure,
    quality_request_reestimate,
)


class QualitySettingsIn(serializers.Serializer):
    consolidation_method = serializers.ChoiceField(
        choices=ConsolidationMethod.choices, required=False
    )
    gold_rate = serializers.FloatField(min_value=0, max_value=1, required=False)
    gold_min_answers = serializers.IntegerField(min_value=1, max_value=1000, required=False)
    gold_pause_below = serializers.FloatField(
        min_value=0, max_value=1, required=False, allow_null=True
    )
    exclude_paused_answers = serializers.BooleanField(required=False)
    min_workers_per_item = serializers.IntegerField(
        min_value=1, max_value=9, required=False, allow_null=True
    )
    target_confidence = serializers.FloatField(
        min_value=0.01, max_value=1, required=False, allow_null=True
    )
    data_may_leave_private = serializers.BooleanField(required=False)
    # Drawing and span jobs: the similarity at which a gold answer passes (null: 0.5).
    gold_pass_similarity = serializers.FloatField(
        min_value=0, max_value=1, required=False, allow_null=True
    )


class WorkerQualityOut(serializers.Serializer):
    worker_id = serializers.IntegerField()
    username = serializers.CharField()
    answers = serializers.IntegerField()
    estimated_accuracy = serializers.FloatField(allow_null=True)
    confusion = serializers.ListField(child=serializers.ListField(child=serializers.FloatField()))
    # Multi-label jobs: {"sensitivity": [...], "specificity": [...]}, one value per job label.
    label_reliability = serializers.DictField(
        child=serializers.ListField(child=serializers.FloatField())
    )
    agreement = serializers.FloatField(allow_null=True)
    gold_answers = serializers.IntegerField()
    gold_correct = serializers.IntegerField()
    gold_accuracy = serializers.FloatField(allow_null=True)
    # Mean score on gold: the share right (classification), the mean similarity to the known
    # answer (drawing and span types; gold_accuracy is then the share that passed).
    gold_mean_score = serializers.FloatField(allow_null=True)
    paused = serializers.BooleanField()
    paused_reason = serializers.CharField()
    # Drawing and span jobs (issue 19): leave-one-out agreement shrunk toward the job's mean,
    # the weight of the worker's answers in consolidation; null on other jobs.
    shape_reliability = serializers.FloatField(allow_null=True)


class EstimateOut(serializers.Serializer):
    method_in_use = serializers.CharField()
    priors = serializers.ListField(child=serializers.FloatField())
    answers_used = serializers.IntegerField()
    overlapping_items = serializers.IntegerField()
    workers = serializers.IntegerField()
    alpha = serializers.FloatField(allow_null=True)
    kappa = serializers.FloatField(allow_null=True)
    per_label = serializers.DictField(child=serializers.FloatField(allow_null=True))
    labels_changed = serializers.IntegerField()
    iterations = serializers.IntegerField()
    warm_start = serializers.BooleanField()
    seconds = serializers.FloatField()
    computed_at = serializers.DateTimeField()


class ShapeWorkerOut(serializers.Serializer):
    worker_id = serializers.IntegerField()
    username = serializers.CharField()
    mean_similarity = serializers.FloatField()
    pairs = serializers.IntegerField()


class ShapeItemOut(serializers.Serializer):
    item_id = serializers.IntegerField()
    mean_similarity = serializers.FloatField()


class ShapeAgreementOut(serializers.Serializer):
    """Agreement on a drawing or span job (issue 19), by the task type's similarity."""

    measure = serializers.CharField(help_text="what the similarity measures for this type")
    distance = serializers.CharField(help_text="the distance alpha uses: 1 − similarity")
    alpha = serializers.FloatField(allow_null=True)
    observed_disagreement = serializers.FloatField(allow_null=True)
    expected_disagreement = serializers.FloatField(allow_null=True)
    items = serializers.IntegerField(help_text="items with two answers or more (latest 300)")
    pairs = serializers.IntegerField(help_text="answer pairs on the same item")
    mean_similarity = serializers.FloatField(allow_null=True)
    quantiles = serializers.DictField(child=serializers.FloatField())
    histogram = serializers.ListField(
        child=serializers.IntegerField(), help_text="pairs per tenth of [0, 1]"
    )
    workers = ShapeWorkerOut(many=True)
    lowest_items = ShapeItemOut(many=True)


class ShapeQualityOut(serializers.Serializer):
    """Issue 19: how a drawing or span job weights its workers and stops adaptive overlap."""

    weighted_consolidation = serializers.BooleanField()
    workers_estimated = serializers.IntegerField()
    # Adaptive overlap stops when the answers' weighted mean pairwise similarity reaches it.
    stop_similarity = serializers.FloatField()


class QualityOut(serializers.Serializer):
    settings = QualitySettingsIn()
    estimate = EstimateOut(allow_null=True)
    workers = WorkerQualityOut(many=True)
    answers_saved = serializers.DictField(child=serializers.IntegerField())
    gold_items = serializers.IntegerField()
    # Drawing and span jobs only; null for the others.
    shape_agreement = ShapeAgreementOut(allow_null=True)
    shape_quality = ShapeQualityOut(allow_null=True)  # null unless a drawing or span job


class GoldEntryIn(serializers.Serializer):
    data = serializers.DictField()
    # The known answer: one label for one-class types, a whole answer (as a worker submits
    # it) for drawing and span types (issue 19).
    label = serializers.CharField(max_length=200, required=False)
    answer = serializers.JSONField(required=False)


class GoldMarkIn(serializers.Serializer):
    label = serializers.CharField(max_length=200, required=False)
    answer = serializers.JSONField(required=False)


class LabelIn(serializers.Serializer):
    label = serializers.CharField(max_length=200)


class HotSpotOut(serializers.Serializer):
    item_id = serializers.IntegerField()
    data = serializers.DictField()
    label = serializers.CharField()
    confidence = serializers.FloatField()
    method = serializers.CharField()
    answers = serializers.IntegerField()


def _quality_body(job) -> dict:
    estimate = selectors.job_quality_estimate(job=job)
    return {
        "settings": {name: getattr(job, name) for name in QUALITY_FIELDS},
        "estimate": EstimateOut(estimate).data if estimate else None,
        "workers": selectors.job_worker_quality(job=job),
        "answers_saved": selectors.job_answers_saved(job=job),
        "gold_items": selectors.job_gold_count(job=job),
        "shape_agreement": selectors.job_shape_agreement(job=job),
        "shape_quality": selectors.job_shape_quality(job=job),
    }


class JobQuality(APIView):
    permission_classes = [IsManager]

    @extend_schema(
        responses={200: QualityOut, **ERRORS},
        summary="Quality of a job: settings, worker reliability, agreement, answers saved",
    )
    def get(self, request: Request, job_id: int) -> Response:
        return Response(_quality_body(_job_for(request, job_id)))

    @extend_schema(
        request=QualitySettingsIn,
        responses={200: QualityOut, **ERRORS},
        summary="Change a job's consolidation method, gold, adaptive overlap, data rule",
    )
    def patch(self, request: Request, job_id: int) -> Response:
        job = _job_for(request, job_id)
        data = QualitySettingsIn(data=request.data)
        data.is_valid(raise_exception=True)
        job = job_quality_configure(job=job, **data.validated_data)
        return Response(_quality_body(job))


class JobQualityReestimate(APIView):
    permission_classes = [IsManager]

    @extend_schema(
        request=None,
        responses={202: OpenApiResponse(description="queued"), **ERRORS},
        summary="Re-estimate worker reliability and re-consolidate (Celery, debounced)",
    )
    def post(self, request: Request, job_id: int) -> Response:
        job = _job_for(request, job_id)
        quality_request_reestimate(job_id=job.pk)
        return Response({"queued": True}, status=status.HTTP_202_ACCEPTED)


class JobGoldImport(APIView):
    permission_classes = [IsManager]

    @extend_schema(
        parameters=[OpenApiParameter("purpose", enum=GoldPurpose.values, default="queue")],
        request=GoldEntryIn(many=True),
        responses={201: OpenApiResponse(description="{created: n}"), **ERRORS},
        summary="Import gold items: each an item line and its known label",
    )
    def post(self, request: Request, job_id: int) -> Response:
        job = _job_for(request, job_id)
        data = GoldEntryIn(data=request.data, many=True)
        data.is_valid(raise_exception=True)
        purpose = request.query_params.get("purpose", GoldPurpose.QUEUE)
        golds = gold_items_add(job=job, entries=data.validated_data, purpose=purpose)
        return Response({"created": len(golds)}, status=status.HTTP_201_CREATED)


class ItemGoldMark(APIView):
    permission_classes = [IsManager]

    @extend_schema(
        request=GoldMarkIn,
        responses={200: OpenApiResponse(description="{item_id, label}"), **ERRORS},
        summary="Mark an item as gold with its known label (or answer, for drawing/span types)",
    )
    def post(self, request: Request, job_id: int, item_id: int) -> Response:
        job = _job_for(request, job_id)
        data = GoldMarkIn(data=request.data)
        data.is_valid(raise_exception=True)
        gold = gold_item_mark(
            job=job,
            item_id=item_id,
            label=data.validated_data.get("label"),
            answer=data.validated_data.get("answer"),
        )
        return Response({"item_id": gold.item_id, "label": gold.label})


class JobReviewQueue(APIView):
    permission_classes = [IsManager]

    @extend_schema(
        parameters=[OpenApiParameter("limit", int, default=50)],
        responses={200: HotSpotOut(many=True), **ERRORS},
        summary="Disagreement hot spots: labeled items with the lowest confidence",
    )
    def get(self, request: Request, job_id: int) -> Response:
        job = _job_for(request, job_id)
        try:
            limit = max(1, min(int(request.query_params.get("limit", 50)), 500))
        except ValueError:
            limit = 50
        rows = selectors.job_hot_spots(job=job, limit=limit)
        for row in rows:
            row["data"] = json.loads(row["data"])
        return Response(rows)


class ItemFinalLabel(APIView):
    permission_classes = [IsManager]

    @extend_schema(
        request=LabelIn,
        responses={200: OpenApiResponse(description="{item_id, label}"), **ERRORS},
        summary="Set an item's final label (kept by every re-consolidation)",
    )
    def post(self, request: Request, job_id: int, item_id: int) -> Response:
        job = _job_for(request, job_id)
        data = LabelIn(data=request.data)
        data.is_valid(raise_exception=True)
        label = consolidated_label_set_final(
            job=job, item_id=item_id, label=data.validated_data["label"]
        )
        return Response({"item_id": label.item_id, "label": label.label})


class WorkerResume(APIView):
    permission_classes = [IsManager]

    @extend_schema(
        request=None,
        responses={200: OpenApiResponse(description="{resumed: true}"), **ERRORS},
        summary="Let a worker paused on gold back on the job",
    )
    def post(self, request: Request, job_id: int, worker_id: int) -> Response:
        job = _job_for(request, job_id)
        worker_resume(job=job, worker=get_object_or_404(User, pk=worker_id))
        return Response({"resumed": True})
