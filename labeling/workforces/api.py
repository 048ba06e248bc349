"""The workforce API: crowd sign-up, marketplace, qualification, earnings and payouts;
vendor organizations and their members; job grants; private-team invitation links."""

import io
import json

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import Throttled
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling.api import ERRORS, _job_detail, _job_for
from labeling.data.spreadsheet import csv_writer
from labeling.models import Role, Team
from labeling.permissions import IsLabeler, IsManager
from labeling.throttling import SignupThrottled, signup_throttle_check
from labeling.workforces import selectors
from labeling.workforces.services.workforces import (
    crowd_signup,
    invitation_accept,
    invitation_create,
    job_grant,
    job_publish,
    job_unpublish,
    marketplace_join,
    payout_rows,
    qualification_questions,
    qualification_take,
    vendor_create,
    vendor_member_add,
    vendor_member_remove,
    vendor_members,
)

OK = OpenApiResponse(description="done")


class IsVendorManager(BasePermission):
    message = "only a vendor's manager may do this"

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.role == Role.VENDOR_MANAGER)


class SignupIn(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128)
    email = serializers.EmailField(required=False, default="")


class AccountOut(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    token = serializers.CharField()


class MarketplaceJobOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    task_type = serializers.CharField()
    short_instructions = serializers.CharField()
    reward_cents = serializers.IntegerField()
    qualification_test = serializers.BooleanField()
    qualified = serializers.BooleanField()
    joined = serializers.BooleanField()


class QuestionOut(serializers.Serializer):
    item_id = serializers.IntegerField()
    data = serializers.JSONField()


class QualificationIn(serializers.Serializer):
    answers = serializers.DictField(child=serializers.CharField(max_length=200))


class QualificationOut(serializers.Serializer):
    questions = serializers.IntegerField()
    correct = serializers.IntegerField()
    passed = serializers.BooleanField()


class PublishIn(serializers.Serializer):
    reward_cents = serializers.IntegerField(min_value=0, max_value=1_000_000)
    qualification_pass_mark = serializers.FloatField(
        min_value=0.01, max_value=1, required=False, allow_null=True, default=None
    )


class GrantIn(serializers.Serializer):
    team = serializers.PrimaryKeyRelatedField(queryset=Team.objects.all())


class VendorIn(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    manager_username = serializers.CharField(max_length=150)
    manager_password = serializers.CharField(max_length=128)


class MemberIn(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128, required=False, default="")


class InvitationIn(serializers.Serializer):
    hours = serializers.IntegerField(min_value=1, max_value=30 * 24, default=72)


class InvitationOut(serializers.Serializer):
    token = serializers.CharField()
    accept_url = serializers.CharField()
    expires_at = serializers.DateTimeField()


class AcceptIn(serializers.Serializer):
    username = serializers.CharField(max_length=150, required=False, default="")
    password = serializers.CharField(max_length=128, required=False, default="")


# --- Crowd ---------------------------------------------------------------------------------


class CrowdSignup(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(request=SignupIn, responses={201: AccountOut, **ERRORS, 429: ERRORS[400]},
                   summary="Open sign-up for crowd workers (throttled per IP and username; "
                           "a 429 carries Retry-After)")  # fmt: skip
    def post(self, request: Request) -> Response:
        try:
            signup_throttle_check(request=request, username=str(request.data.get("username", "")))
        except SignupThrottled as exc:
            raise Throttled(
                wait=exc.retry_after, detail=f"too many sign-up attempts from this {exc.scope}."
            ) from exc
        data = SignupIn(data=request.data)
        data.is_valid(raise_exception=True)
        user, token = crowd_signup(**data.validated_data)
        return Response({"id": user.pk, "username": user.username, "token": token}, status=201)


class Marketplace(APIView):
    permission_classes = [IsLabeler]

    @extend_schema(responses={200: MarketplaceJobOut(many=True)},
                   summary="Jobs published to the crowd, with their reward per task")  # fmt: skip
    def get(self, request: Request) -> Response:
        return Response(selectors.marketplace_jobs(worker=request.user))


class MarketplaceJoin(APIView):
    permission_classes = [IsLabeler]

    @extend_schema(request=None, responses={200: OK, **ERRORS}, summary="Join a crowd job")
    def post(self, request: Request, job_id: int) -> Response:
        job = marketplace_join(job_id=job_id, worker=request.user)
        return Response({"job_id": job.pk, "joined": True})


class MarketplaceQualification(APIView):
    permission_classes = [IsLabeler]

    @extend_schema(responses={200: QuestionOut(many=True), **ERRORS},
                   summary="The questions of a job's qualification test")  # fmt: skip
    def get(self, request: Request, job_id: int) -> Response:
        questions = qualification_questions(job_id=job_id, worker=request.user)
        for question in questions:
            question["data"] = json.loads(question["data"])
        return Response(questions)

    @extend_schema(request=QualificationIn, responses={200: QualificationOut, **ERRORS},
                   summary="Answer the qualification test (one attempt)")  # fmt: skip
    def post(self, request: Request, job_id: int) -> Response:
        data = QualificationIn(data=request.data)
        data.is_valid(raise_exception=True)
        answers = {}
        for key, value in data.validated_data["answers"].items():
            try:
                answers[int(key)] = value
            except ValueError:
                continue
        attempt = qualification_take(job_id=job_id, worker=request.user, answers=answers)
        return Response(QualificationOut(attempt).data)


class MyEarnings(APIView):
    permission_classes = [IsLabeler]

    @extend_schema(responses={200: OpenApiTypes.OBJECT}, summary="Your earnings ledger")
    def get(self, request: Request) -> Response:
        return Response(selectors.worker_earnings(worker=request.user))


class PayoutReport(APIView):
    permission_classes = [IsManager]

    @extend_schema(
        parameters=[OpenApiParameter("since", OpenApiTypes.DATETIME),
                    OpenApiParameter("until", OpenApiTypes.DATETIME)],
        responses={(200, "text/csv"): OpenApiTypes.STR},
        summary="Payout report: per worker, tasks paid and the amount (CSV)",
    )  # fmt: skip
    def get(self, request: Request) -> HttpResponse:
        times = serializers.DateTimeField()
        bounds = {}
        for name in ("since", "until"):
            if request.query_params.get(name):
                bounds[name] = times.run_validation(request.query_params[name])
        out = io.StringIO()
        writer = csv_writer(out)
        writer.writerow(["worker_id", "username", "email", "tasks", "amount_cents"])
        for row in payout_rows(**bounds):
            writer.writerow([row["worker_id"], row["worker__username"], row["worker__email"],
                             row["tasks"], row["amount_cents"]])  # fmt: skip
        response = HttpResponse(out.getvalue(), content_type="text/csv")
        response["Content-Disposition"] = 'attachment; filename="payouts.csv"'
        return response


class JobPublish(APIView):
    permission_classes = [IsManager]

    @extend_schema(request=PublishIn, responses={200: OK, **ERRORS},
                   summary="Publish a crowd job on the marketplace with its reward")  # fmt: skip
    def post(self, request: Request, job_id: int) -> Response:
        data = PublishIn(data=request.data)
        data.is_valid(raise_exception=True)
        job = job_publish(job=_job_for(request, job_id), **data.validated_data)
        return Response(_job_detail(job) | {"reward_cents": job.reward_cents,
                                            "published_at": job.published_at})  # fmt: skip


class JobUnpublish(APIView):
    permission_classes = [IsManager]

    @extend_schema(request=None, responses={200: OK, **ERRORS}, summary="Take a job off the market")
    def post(self, request: Request, job_id: int) -> Response:
        job = job_unpublish(job=_job_for(request, job_id))
        return Response(_job_detail(job))


class JobGrant(APIView):
    permission_classes = [IsManager]

    @extend_schema(request=GrantIn, responses={200: OK, **ERRORS},
                   summary="Give a job to a team (vendor, crowd or private)")  # fmt: skip
    def post(self, request: Request, job_id: int) -> Response:
        data = GrantIn(data=request.data)
        data.is_valid(raise_exception=True)
        job = job_grant(job=_job_for(request, job_id), team=data.validated_data["team"])
        return Response(_job_detail(job))


# --- Vendors -------------------------------------------------------------------------------


class VendorCreate(APIView):
    permission_classes = [IsManager]

    @extend_schema(request=VendorIn, responses={201: OK, **ERRORS},
                   summary="Create a vendor organization and its manager")  # fmt: skip
    def post(self, request: Request) -> Response:
        data = VendorIn(data=request.data)
        data.is_valid(raise_exception=True)
        team = vendor_create(**data.validated_data)
        return Response({"team": team.pk, "name": team.name,
                         "vendor_manager": team.vendor_manager_id}, status=201)  # fmt: skip


class VendorMembers(APIView):
    permission_classes = [IsVendorManager]

    @extend_schema(responses={200: OpenApiTypes.OBJECT, **ERRORS},
                   summary="Your vendor team and its members")  # fmt: skip
    def get(self, request: Request) -> Response:
        team, members = vendor_members(manager=request.user)
        listed = [{"id": user.pk, "username": user.username} for user in members]
        return Response({"team": team.pk, "name": team.name, "members": listed})

    @extend_schema(request=MemberIn, responses={201: AccountOut, **ERRORS},
                   summary="Add a labeler to your vendor team")  # fmt: skip
    def post(self, request: Request) -> Response:
        data = MemberIn(data=request.data)
        data.is_valid(raise_exception=True)
        user, token = vendor_member_add(manager=request.user, **data.validated_data)
        return Response({"id": user.pk, "username": user.username, "token": token}, status=201)


class VendorMember(APIView):
    permission_classes = [IsVendorManager]

    @extend_schema(request=None, responses={204: None, **ERRORS},
                   summary="Remove a labeler from your vendor team")  # fmt: skip
    def delete(self, request: Request, user_id: int) -> Response:
        vendor_member_remove(manager=request.user, user_id=user_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Invitations ---------------------------------------------------------------------------


class TeamInvitations(APIView):
    permission_classes = [IsManager]

    @extend_schema(request=InvitationIn, responses={201: InvitationOut, **ERRORS},
                   summary="An invitation link to a private team that expires")  # fmt: skip
    def post(self, request: Request, team_id: int) -> Response:
        data = InvitationIn(data=request.data)
        data.is_valid(raise_exception=True)
        team = get_object_or_404(Team, pk=team_id)
        invitation = invitation_create(team=team, by=request.user, **data.validated_data)
        body = {
            "token": invitation.token,
            "accept_url": f"/api/v1/invitations/{invitation.token}/accept",
            "expires_at": invitation.expires_at,
        }
        return Response(InvitationOut(body).data, status=201)


class InvitationAccept(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        request=AcceptIn,
        responses={200: OK, **ERRORS},
        summary="Join a team by invitation (signed in, or as a new labeler)",
    )
    def post(self, request: Request, token: str) -> Response:
        data = AcceptIn(data=request.data)
        data.is_valid(raise_exception=True)
        user = request.user if request.user and request.user.is_authenticated else None
        user, team, new_token = invitation_accept(token=token, user=user, **data.validated_data)
        body = {"team": team.pk, "team_name": team.name, "user": user.pk}
        if new_token:
            body["token"] = new_token
        return Response(body)
