"""Workforces beyond private teams: the crowd marketplace, vendor organizations, invitations.

- **Crowd**: anyone signs up (a labeler on no team); published jobs of crowd teams make the
  marketplace, each with a reward per task; a job may ask for a qualification test (its
  qualification gold items and a pass mark) before a worker joins; every answer to a job
  with a reward writes a line of the worker's earnings ledger.
- **Vendor**: a team run by its own vendor manager, who adds and removes its members; a
  project manager grants the vendor a job.
- **Private**: invitation links that expire.

The personal-data rule (``services.jobs.check_personal_data_rule``) guards every way a job
can reach a crowd or vendor team.
"""

import secrets
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Count, Sum
from django.utils import timezone

from labeling.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from labeling.models import (
    Earning,
    GoldItem,
    GoldPurpose,
    Job,
    Qualification,
    Role,
    Team,
    TeamInvitation,
    TeamKind,
    TeamMembership,
    User,
)
from labeling.services.jobs import check_personal_data_rule
from labeling.services.users import (
    api_token_revoke,
    password_check,
    user_create,
    username_check,
)
from labeling.states import JobStatus

INVITATION_MAX_HOURS = 30 * 24


# --- Crowd ---------------------------------------------------------------------------------


def crowd_signup(*, username: str, password: str, email: str = "") -> tuple[User, str]:
    """Open sign-up: a new labeler on no team, who finds work in the marketplace."""
    username_check(username.strip())
    if User.objects.filter(username=username.strip()).exists():
        raise Conflict(f"the name {username!r} is taken", code="duplicate_name")
    if not password:
        raise ValidationFailed("choose a password", details={"field": "password"})
    password_check(user=User(username=username.strip(), email=email), password=password)
    user, token, _ = user_create(
        username=username, role=Role.LABELER, password=password, email=email
    )
    return user, token


def job_publish(*, job: Job, reward_cents: int, qualification_pass_mark: float | None) -> Job:
    """Put a crowd team's job on the marketplace with its reward per task."""
    if job.team.kind != TeamKind.CROWD:
        raise ValidationFailed(
            "only a job of a crowd team goes to the marketplace; grant it to a crowd team first",
            code="not_a_crowd_job",
        )
    check_personal_data_rule(team=job.team, data_may_leave_private=job.data_may_leave_private)
    if reward_cents < 0:
        raise ValidationFailed("reward_cents must not be negative", details={"field": "reward"})
    if qualification_pass_mark is not None:
        if not 0.0 < qualification_pass_mark <= 1.0:
            raise ValidationFailed("the pass mark is a share in (0, 1]")
        if not GoldItem.objects.filter(job=job, purpose=GoldPurpose.QUALIFICATION).exists():
            raise ValidationFailed(
                "a qualification test needs qualification gold items; import them first",
                code="no_qualification_items",
            )
    job.reward_cents = reward_cents
    job.qualification_pass_mark = qualification_pass_mark
    job.published_at = job.published_at or timezone.now()
    job.save(update_fields=["reward_cents", "qualification_pass_mark", "published_at"])
    return job


def job_unpublish(*, job: Job) -> Job:
    job.published_at = None
    job.save(update_fields=["published_at"])
    return job


def _marketplace_job(job_id: int) -> Job:
    job = (
        Job.objects.select_related("team")
        .filter(pk=job_id, published_at__isnull=False, team__kind=TeamKind.CROWD)
        .first()
    )
    if job is None:
        raise NotFound(f"there is no job {job_id} on the marketplace")
    return job


def qualification_questions(*, job_id: int, worker: User) -> list[dict]:
    """The test's items (their data only, never their answers), in a fixed order."""
    job = _marketplace_job(job_id)
    if job.qualification_pass_mark is None:
        raise Conflict("this job has no qualification test", code="no_qualification")
    golds = GoldItem.objects.filter(job=job, purpose=GoldPurpose.QUALIFICATION).select_related(
        "item"
    )
    return [{"item_id": gold.item_id, "data": gold.item.data} for gold in golds.order_by("id")]


def qualification_take(*, job_id: int, worker: User, answers: dict[int, str]) -> Qualification:
    """Score the worker's one attempt; passing it adds them to the job's crowd team."""
    job = _marketplace_job(job_id)
    if job.qualification_pass_mark is None:
        raise Conflict("this job has no qualification test", code="no_qualification")
    if worker.role != Role.LABELER:
        raise NotAllowed("only labelers take qualification tests")
    truth = dict(
        GoldItem.objects.filter(job=job, purpose=GoldPurpose.QUALIFICATION).values_list(
            "item_id", "label"
        )
    )
    missing = set(truth) - {int(key) for key in answers}
    if missing:
        raise ValidationFailed(
            f"answer every question: {len(missing)} missing", details={"missing": sorted(missing)}
        )
    correct = sum(answers.get(item_id, answers.get(str(item_id))) == label
                  for item_id, label in truth.items())  # fmt: skip
    passed = correct / len(truth) >= job.qualification_pass_mark
    try:
        with transaction.atomic():
            attempt = Qualification.objects.create(
                job=job, worker=worker, questions=len(truth), correct=correct, passed=passed
            )
            if passed:
                TeamMembership.objects.get_or_create(team=job.team, user=worker)
    except IntegrityError:
        raise Conflict(
            "you have taken this job's qualification test already", code="already_taken"
        ) from None
    return attempt


def marketplace_join(*, job_id: int, worker: User) -> Job:
    """Join a published job's crowd team: at once, or after passing its test."""
    job = _marketplace_job(job_id)
    if worker.role != Role.LABELER:
        raise NotAllowed("only labelers work on crowd jobs")
    if job.status != JobStatus.IN_PROGRESS:
        raise Conflict("this job is not taking answers now", code="job_not_in_progress")
    if (
        job.qualification_pass_mark is not None
        and not Qualification.objects.filter(job=job, worker=worker, passed=True).exists()
    ):
        raise NotAllowed(
            "pass this job's qualification test before joining", code="qualification_required"
        )
    TeamMembership.objects.get_or_create(team=job.team, user=worker)
    return job


def earning_record(*, job_id: int, worker_id: int, annotation_id: int, reward_cents: int) -> None:
    """Inside the submit's transaction: one ledger line for a rewarded answer."""
    Earning.objects.create(
        job_id=job_id,
        worker_id=worker_id,
        annotation_id=annotation_id,
        amount_cents=reward_cents,
        earned_at=timezone.now(),
    )


def payout_rows(*, since=None, until=None):
    """Per worker: tasks paid and the amount, for the payout report."""
    lines = Earning.objects.all()
    if since:
        lines = lines.filter(earned_at__gte=since)
    if until:
        lines = lines.filter(earned_at__lt=until)
    return (
        lines.values("worker_id", "worker__username", "worker__email")
        .annotate(tasks=Count("id"), amount_cents=Sum("amount_cents"))
        .order_by("worker__username")
    )


# --- Vendors -------------------------------------------------------------------------------


def vendor_create(*, name: str, manager_username: str, manager_password: str) -> Team:
    """A vendor organization: a vendor team and the vendor manager who runs it."""
    with transaction.atomic():
        team = Team.objects.create(name=name.strip(), kind=TeamKind.VENDOR)
        manager, _, created = user_create(
            username=manager_username, role=Role.VENDOR_MANAGER, password=manager_password
        )
        if not created:
            raise Conflict(f"the name {manager_username!r} is taken", code="duplicate_name")
        team.vendor_manager = manager
        team.save(update_fields=["vendor_manager"])
    return team


def _vendor_team_of(manager: User) -> Team:
    team = Team.objects.filter(kind=TeamKind.VENDOR, vendor_manager=manager).first()
    if team is None:
        raise NotAllowed("you run no vendor team", code="not_a_vendor_manager")
    return team


def vendor_member_add(*, manager: User, username: str, password: str) -> tuple[User, str]:
    """A vendor manager adds a labeler to their own organization (and no other)."""
    team = _vendor_team_of(manager)
    existing = User.objects.filter(username=username.strip()).first()
    if existing is not None:
        raise Conflict(f"the name {username!r} is taken", code="duplicate_name")
    user, token, _ = user_create(
        username=username, role=Role.LABELER, team=team, password=password or None
    )
    return user, token


def vendor_member_remove(*, manager: User, user_id: int) -> None:
    team = _vendor_team_of(manager)
    removed, _ = TeamMembership.objects.filter(team=team, user_id=user_id).delete()
    if not removed:
        raise NotFound(f"user {user_id} is not a member of {team.name}")


def vendor_member_reset(*, manager: User, user_id: int) -> str:
    """Re-invite a member of the manager's own organization: a new one-time password.

    The old password and API token stop working at once; the manager hands the new
    password to the member, who signs in with it.
    """
    team = _vendor_team_of(manager)
    member = User.objects.filter(pk=user_id, memberships__team=team).first()
    if member is None:
        raise NotFound(f"user {user_id} is not a member of {team.name}")
    password = secrets.token_urlsafe(12)
    with transaction.atomic():
        member.set_password(password)
        member.save(update_fields=["password"])
        api_token_revoke(user=member)
    return password


def vendor_team_for(*, manager: User) -> Team:
    return _vendor_team_of(manager)


def vendor_members(*, manager: User):
    team = _vendor_team_of(manager)
    return team, User.objects.filter(memberships__team=team).order_by("username")


def job_grant(*, job: Job, team: Team) -> Job:
    """A project manager gives a job to a team (a vendor, the crowd, or a private team)."""
    check_personal_data_rule(team=team, data_may_leave_private=job.data_may_leave_private)
    if job.status in (JobStatus.COMPLETED, JobStatus.STOPPED):
        raise Conflict("a finished job cannot change hands", code="job_finished")
    job.team = team
    if team.kind != TeamKind.CROWD:
        job.published_at = None
    job.save(update_fields=["team", "published_at"])
    return job


# --- Private-team invitations ----------------------------------------------------------------


def invitation_create(*, team: Team, by: User, hours: int) -> TeamInvitation:
    if team.kind != TeamKind.PRIVATE:
        raise ValidationFailed("invitation links are for private teams")
    if not 1 <= hours <= INVITATION_MAX_HOURS:
        raise ValidationFailed(f"an invitation lasts 1 to {INVITATION_MAX_HOURS} hours")
    return TeamInvitation.objects.create(
        team=team,
        token=secrets.token_urlsafe(32),
        created_by=by,
        expires_at=timezone.now() + timedelta(hours=hours),
    )


def invitation_open(*, token: str) -> TeamInvitation:
    """The invitation of ``token`` if it may still be accepted; else ``NotFound`` (no such
    link) or ``Conflict`` ``invitation_expired``."""
    invitation = TeamInvitation.objects.select_related("team").filter(token=token).first()
    if invitation is None:
        raise NotFound("this invitation link is not valid")
    if invitation.expires_at <= timezone.now():
        raise Conflict(
            f"this invitation expired at {invitation.expires_at.isoformat()}; ask for a new one",
            code="invitation_expired",
        )
    return invitation


def invitation_accept(
    *, token: str, user: User | None, username: str = "", password: str = ""
) -> tuple[User, Team, str | None]:
    """Join the invitation's team: as the signed-in labeler, or as a new one."""
    invitation = invitation_open(token=token)
    new_token = None
    if user is None:
        user, new_token = crowd_signup(username=username, password=password)
    elif user.role != Role.LABELER:
        raise NotAllowed("only labelers join teams by invitation")
    with transaction.atomic():
        TeamMembership.objects.get_or_create(team=invitation.team, user=user)
        TeamInvitation.objects.filter(pk=invitation.pk).update(uses=invitation.uses + 1)
    return user, invitation.team, new_token
