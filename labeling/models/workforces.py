"""Models of the workforces: teams and members, invitations, qualification attempts, earnings."""

from django.db import models

from labeling.models.core import Annotation, Job, User


class TeamKind(models.TextChoices):
    PRIVATE = "private", "Private team"
    CROWD = "crowd", "External crowd"
    VENDOR = "vendor", "Vendor"


class Team(models.Model):
    """A workforce. Private teams have invited members; crowd and vendor teams come later."""

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=16, choices=TeamKind.choices, default=TeamKind.PRIVATE)
    description = models.TextField(blank=True)
    members = models.ManyToManyField(User, through="TeamMembership", related_name="teams")
    # A vendor team is an organization run by its own manager, who manages its members.
    vendor_manager = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="vendor_teams"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class TeamRole(models.TextChoices):
    MEMBER = "member", "Member"
    REVIEWER = "reviewer", "Reviewer"


class TeamMembership(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    joined_at = models.DateTimeField(auto_now_add=True)
    # A reviewer also reviews the team's jobs (issue 14: docs/review.md).
    role = models.CharField(
        max_length=8, choices=TeamRole.choices, default=TeamRole.MEMBER, db_default="member"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["team", "user"], name="membership_unique"),
        ]


class Qualification(models.Model):
    """A crowd worker's attempt at a job's qualification test (one attempt per job)."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="qualifications")
    worker = models.ForeignKey(User, on_delete=models.CASCADE, related_name="qualifications")
    questions = models.PositiveIntegerField()
    correct = models.PositiveIntegerField()
    passed = models.BooleanField()
    taken_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job", "worker"], name="qualification_once"),
        ]


class Earning(models.Model):
    """One line of a worker's earnings ledger: the reward of one submitted answer."""

    worker = models.ForeignKey(User, on_delete=models.PROTECT, related_name="earnings")
    job = models.ForeignKey(Job, on_delete=models.PROTECT, related_name="earnings")
    annotation = models.OneToOneField(Annotation, on_delete=models.PROTECT, related_name="earning")
    amount_cents = models.PositiveIntegerField()
    earned_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["worker", "earned_at"], name="earning_worker_time"),
            models.Index(fields=["earned_at"], name="earning_time"),
        ]


class TeamInvitation(models.Model):
    """A link that lets whoever holds it join a private team until it expires."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="invitations")
    token = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    uses = models.PositiveIntegerField(default=0)
