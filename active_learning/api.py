"""The active-learning REST API under /api/v1/jobs/{id}/auto-labeling: managers only."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from active_learning import selectors
from active_learning.serializers import (
    AuditIn,
    AuditOut,
    AutoLabelingIn,
    AutoLabelingOut,
    ModelOut,
    RoundOut,
)
from active_learning.services.audits import audit_start
from active_learning.services.settings import auto_labeling_disable, auto_labeling_enable
from active_learning.states import RoundTrigger
from active_learning.tasks import request_round
from labeling.api import ERRORS
from labeling.errors import NotFound
from labeling.models import Job
from labeling.permissions import IsManager
from labeling.selectors import job_get_for_user

TAG = ["auto-labeling"]


def _job_for(request: Request, job_id: int) -> Job:
    job = job_get_for_user(job_id=job_id, user=request.user)
    if job is None:
        raise NotFound(f"there is no job {job_id} that you can see")
    return job


def _settings_payload(job: Job) -> dict:
    config = selectors.auto_labeling_for_job(job_id=job.pk)
    if config is None:
        raise NotFound("automated labeling was never turned on for this job")
    config.counts = selectors.label_sources(job_id=job.pk)
    config.suggestions = selectors.suggestion_stats(job_id=job.pk)
    config.budget = selectors.budget_status(config=config)
    return AutoLabelingOut(config).data


class AutoLabelingDetail(APIView):
    permission_classes = [IsManager]

    @extend_schema(tags=TAG, responses={200: AutoLabelingOut, **ERRORS}, summary="Settings")
    def get(self, request: Request, job_id: int) -> Response:
        return Response(_settings_payload(_job_for(request, job_id)))

    @extend_schema(
        tags=TAG,
        request=AutoLabelingIn,
        responses={200: AutoLabelingOut, **ERRORS},
        summary="Turn automated labeling on, or change its settings",
    )
    def post(self, request: Request, job_id: int) -> Response:
        job = _job_for(request, job_id)
        data = AutoLabelingIn(data=request.data)
        data.is_valid(raise_exception=True)
        auto_labeling_enable(job=job, by=request.user, **data.validated_data)
        return Response(_settings_payload(job))


class AutoLabelingOff(APIView):
    permission_classes = [IsManager]

    @extend_schema(
        tags=TAG, request=None, responses={200: AutoLabelingOut, **ERRORS}, summary="Turn it off"
    )
    def post(self, request: Request, job_id: int) -> Response:
        job = _job_for(request, job_id)
        auto_labeling_disable(job=job)
        return Response(_settings_payload(job))


class RoundList(APIView):
    permission_classes = [IsManager]

    @extend_schema(tags=TAG, responses={200: RoundOut(many=True), **ERRORS}, summary="Rounds")
    def get(self, request: Request, job_id: int) -> Response:
        job = _job_for(request, job_id)
        return Response(RoundOut(selectors.rounds_for_job(job_id=job.pk), many=True).data)

    @extend_schema(
        tags=TAG,
        request=None,
        responses={202: RoundOut, 200: RoundOut(many=True), **ERRORS},
        summary="Queue a round now (202), or list the rounds (200) if one is pending",
    )
    def post(self, request: Request, job_id: int) -> Response:
        job = _job_for(request, job_id)
        queued = request_round(job.pk, RoundTrigger.MANUAL)
        if queued is None:
            return Response(RoundOut(selectors.rounds_for_job(job_id=job.pk), many=True).data)
        return Response(RoundOut(queued).data, status=status.HTTP_202_ACCEPTED)


class ModelList(APIView):
    permission_classes = [IsManager]

    @extend_schema(tags=TAG, responses={200: ModelOut(many=True), **ERRORS}, summary="Models")
    def get(self, request: Request, job_id: int) -> Response:
        job = _job_for(request, job_id)
        return Response(ModelOut(selectors.models_for_job(job_id=job.pk), many=True).data)


class AuditList(APIView):
    permission_classes = [IsManager]

    @extend_schema(tags=TAG, responses={200: AuditOut(many=True), **ERRORS}, summary="Audits")
    def get(self, request: Request, job_id: int) -> Response:
        job = _job_for(request, job_id)
        return Response(AuditOut(selectors.audits_for_job(job_id=job.pk), many=True).data)

    @extend_schema(
        tags=TAG,
        request=AuditIn,
        responses={201: AuditOut, **ERRORS},
        summary="Send a random sample of auto-labels back to humans",
    )
    def post(self, request: Request, job_id: int) -> Response:
        job = _job_for(request, job_id)
        data = AuditIn(data=request.data)
        data.is_valid(raise_exception=True)
        audit = audit_start(job=job, by=request.user, **data.validated_data)
        return Response(AuditOut(audit).data, status=status.HTTP_201_CREATED)


class AutoLabelQuality(APIView):
    permission_classes = [IsManager]

    @extend_schema(
        tags=TAG,
        responses={200: OpenApiTypes.OBJECT, **ERRORS},
        summary="The automated labels' accuracy over their audits, with the drift detector",
    )
    def get(self, request: Request, job_id: int) -> Response:
        job = _job_for(request, job_id)
        return Response(selectors.auto_label_quality(job_id=job.pk))
