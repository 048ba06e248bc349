"""The labeling REST API under /api/v1/: thin views over services and selectors."""

import json

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.parsers import JSONParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling import selectors
from labeling.errors import NotFound
from labeling.models import Job, Team, User
from labeling.permissions import IsLabeler, IsManager
from labeling.serializers import (
    AnnotationOut,
    AssignmentOut,
    ErrorOut,
    JobDetailOut,
    JobIn,
    JobOut,
    LeaseOut,
    SubmitIn,
    TeamIn,
    TeamMemberIn,
    TeamOut,
    WorkerIn,
    WorkerOut,
    annotation_payload,
    lease_payload,
)
from labeling.services.annotations import annotation_submit
from labeling.services.assignments import assignment_claim, assignment_release, assignment_skip
from labeling.services.jobs import job_create, job_start, job_stop
from labeling.services.users import user_create
from labeling.task_ui.media import media_response
from labeling.workforces.services.teams import team_create, team_member_add

ERRORS = {code: OpenApiResponse(ErrorOut) for code in (400, 401, 403, 404, 409)}
# An idle labeler of a job that takes items while it runs asks again after this many seconds.
OPEN_ENDED_CLAIM_RETRY_SECONDS = 2


def _job_for(request: Request, job_id: int) -> Job:
    job = selectors.job_get_for_user(job_id=job_id, user=request.user)
    if job is None:
        raise NotFound(f"there is no job {job_id} that you can see")
    return job


def task_next_reply(*, job_id: int, user: User) -> tuple[int, dict | None, dict[str, str]]:
    """The next task's answer (status, body, extra headers); labeling/hot_path.py serves the
    same endpoint with it."""
    job = selectors.job_for_labeler_task(job_id=job_id, user=user)
    if job is None:
        raise NotFound(f"there is no job {job_id} that you can see")
    assignment = assignment_claim(job=job, worker=user)
    if assignment is None:
        # A streaming job (issue 16): new items may come any time.
        headers = {"Retry-After": str(OPEN_ENDED_CLAIM_RETRY_SECONDS)} if job.open_ended else {}
        return status.HTTP_204_NO_CONTENT, None, headers
    assignment.job = job
    return status.HTTP_200_OK, lease_payload(assignment), {}


def submit_reply(*, assignment_id: int, user: User, answer: object) -> tuple[int, dict]:
    """A validated answer's submit (status, body); labeling/hot_path.py serves it too."""
    annotation = annotation_submit(assignment_id=assignment_id, worker=user, answer=answer)
    return status.HTTP_201_CREATED, annotation_payload(annotation)


def _job_detail(job: Job) -> dict:
    return JobDetailOut(job, context={"counts": selectors.job_counts(job=job)}).data


class TeamListCreate(APIView):
    permission_classes = [IsAuthenticated]

    def get_permissions(self):
        return [IsManager()] if self.request.method == "POST" else super().get_permissions()

    @extend_schema(responses={200: TeamOut(many=True)}, summary="Teams you can see")
    def get(self, request: Request) -> Response:
        return Response(TeamOut(selectors.teams_for_user(user=request.user), many=True).data)

    @extend_schema(request=TeamIn, responses={201: TeamOut, **ERRORS}, summary="Create a team")
    def post(self, request: Request) -> Response:
        data = TeamIn(data=request.data)
        data.is_valid(raise_exception=True)
        team = team_create(**data.validated_data)
        return Response(TeamOut(team).data, status=status.HTTP_201_CREATED)


class TeamMembers(APIView):
    permission_classes = [IsManager]

    @extend_schema(
        request=TeamMemberIn, responses={201: TeamOut, **ERRORS}, summary="Add a labeler"
    )
    def post(self, request: Request, team_id: int) -> Response:
        team = get_object_or_404(Team, pk=team_id)
        data = TeamMemberIn(data=request.data)
        data.is_valid(raise_exception=True)
        user = User.objects.filter(username=data.validated_data["username"]).first()
        if user is None:
            raise NotFound(f"there is no user {data.validated_data['username']!r}")
        team_member_add(team=team, user=user)
        return Response(TeamOut(team).data, status=status.HTTP_201_CREATED)


class WorkerCreate(APIView):
    permission_classes = [IsManager]

    @extend_schema(
        request=WorkerIn,
        responses={201: WorkerOut, 200: WorkerOut, **ERRORS},
        summary="Create a worker (a labeler on a team by default) and return its API token",
    )
    def post(self, request: Request) -> Response:
        data = WorkerIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        user, token, created = user_create(
            username=values["username"],
            role=values["role"],
            team=values.get("team"),
            password=values.get("password") or None,
            email=values.get("email", ""),
        )
        body = {
            "id": user.pk,
            "username": user.username,
            "role": user.role,
            "team": values["team"].pk if values.get("team") else None,
            "token": token,
            "created": created,
        }
        return Response(WorkerOut(body).data, status=201 if created else 200)


class JobListCreate(APIView):
    def get_permissions(self):
        return [IsManager()] if self.request.method == "POST" else [IsAuthenticated()]

    @extend_schema(responses={200: JobOut(many=True)}, summary="Jobs you can see")
    def get(self, request: Request) -> Response:
        jobs = selectors.jobs_for_user(user=request.user)[:500]
        return Response(JobOut(jobs, many=True).data)

    @extend_schema(request=JobIn, responses={201: JobDetailOut, **ERRORS}, summary="Create a job")
    def post(self, request: Request) -> Response:
        data = JobIn(data=request.data)
        data.is_valid(raise_exception=True)
        job = job_create(created_by=request.user, **data.validated_data)
        return Response(_job_detail(job), status=status.HTTP_201_CREATED)


class JobDetail(APIView):
    @extend_schema(responses={200: JobDetailOut, **ERRORS}, summary="A job with its counts")
    def get(self, request: Request, job_id: int) -> Response:
        return Response(_job_detail(_job_for(request, job_id)))


class JobStart(APIView):
    permission_classes = [IsManager]

    @extend_schema(request=None, responses={200: JobDetailOut, **ERRORS}, summary="Start a job")
    def post(self, request: Request, job_id: int) -> Response:
        job = job_start(job=_job_for(request, job_id), by=request.user)
        return Response(_job_detail(job))


class JobStop(APIView):
    permission_classes = [IsManager]

    @extend_schema(request=None, responses={200: JobDetailOut, **ERRORS}, summary="Stop a job")
    def post(self, request: Request, job_id: int) -> Response:
        job = job_stop(job=_job_for(request, job_id), by=request.user)
        return Response(_job_detail(job))


class TaskNext(APIView):
    permission_classes = [IsLabeler]

    @extend_schema(
        request=None,
        responses={200: LeaseOut, 204: None, **ERRORS},
        summary="Lease the next task of a job (204 when nothing is left for you)",
        description=(
            "On a job that takes items while it runs (a streaming job) a 204 carries "
            "Retry-After: new items may arrive at any time, so ask again after that many seconds."
        ),
    )
    def post(self, request: Request, job_id: int) -> Response:
        code, body, headers = task_next_reply(job_id=job_id, user=request.user)
        return Response(body, status=code, headers=headers)


class TaskMine(APIView):
    permission_classes = [IsLabeler]

    @extend_schema(responses={200: LeaseOut(many=True)}, summary="Your live leases on a job")
    def get(self, request: Request, job_id: int) -> Response:
        job = _job_for(request, job_id)
        leases = selectors.worker_active_assignments(job=job, user=request.user)
        for lease in leases:
            lease.job = job
        return Response(LeaseOut(leases, many=True).data)


class AssignmentSubmit(APIView):
    permission_classes = [IsLabeler]
    parser_classes = [JSONParser]

    @extend_schema(
        request=SubmitIn, responses={201: AnnotationOut, **ERRORS}, summary="Submit an answer"
    )
    def post(self, request: Request, assignment_id: int) -> Response:
        data = SubmitIn(data=request.data)
        data.is_valid(raise_exception=True)
        code, body = submit_reply(
            assignment_id=assignment_id, user=request.user, answer=data.validated_data["answer"]
        )
        return Response(body, status=code)


class AssignmentSkip(APIView):
    permission_classes = [IsLabeler]

    @extend_schema(request=None, responses={200: AssignmentOut, **ERRORS}, summary="Skip a task")
    def post(self, request: Request, assignment_id: int) -> Response:
        assignment = assignment_skip(assignment_id=assignment_id, worker=request.user)
        return Response(AssignmentOut(assignment).data)


class AssignmentRelease(APIView):
    permission_classes = [IsLabeler]

    @extend_schema(
        request=None,
        responses={200: AssignmentOut, **ERRORS},
        summary="Give a task back without skipping it",
    )
    def post(self, request: Request, assignment_id: int) -> Response:
        assignment = assignment_release(assignment_id=assignment_id, worker=request.user)
        return Response(AssignmentOut(assignment).data)


class JobStats(APIView):
    permission_classes = [IsManager]

    @extend_schema(
        responses={200: OpenApiTypes.OBJECT},
        summary="Dashboard figures: per-worker counts and median time, labels over time",
    )
    def get(self, request: Request, job_id: int) -> Response:
        job = _job_for(request, job_id)
        return Response(
            {
                "counts": selectors.job_counts(job=job),
                "workers": selectors.worker_stats(job=job),
                "labels": selectors.label_distribution(job=job),
                "labels_over_time": selectors.labels_over_time(job=job),
            }
        )


class ItemMedia(APIView):
    @extend_schema(
        responses={(200, "image/*"): OpenApiTypes.BINARY, **ERRORS}, summary="An item's image"
    )
    def get(self, request: Request, item_id: int):
        item = selectors.item_visible_to(item_id=item_id, user=request.user)
        if item is None:
            raise NotFound(f"there is no item {item_id} that you can see")
        ref = selectors.item_source_ref(item=item)
        if not ref:
            raise NotFound("this item has no media")
        return _media_response(ref)


class ItemFrame(APIView):
    @extend_schema(
        responses={(200, "image/*"): OpenApiTypes.BINARY, **ERRORS},
        summary="One frame of a video item (frames count from 0)",
    )
    def get(self, request: Request, item_id: int, frame: int):
        item = selectors.item_visible_to(item_id=item_id, user=request.user)
        if item is None:
            raise NotFound(f"there is no item {item_id} that you can see")
        frames = json.loads(item.data).get("frames")
        if not isinstance(frames, list) or not 0 <= frame < len(frames):
            raise NotFound(f"this item has no frame {frame}")
        return _media_response(str(frames[frame]))


def _media_response(ref: str):
    """A file of the media folder or an object of the S3 store, or a redirect to http(s)."""
    return media_response(ref, cache_seconds=3600)
