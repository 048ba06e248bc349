"""Forms of the manager console: they parse and check input; the services write."""

from typing import Any

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.db.models import QuerySet

from labeling import selectors
from labeling.errors import QuorumError
from labeling.models import MAX_WORKERS_PER_ITEM, Role, Team, TeamKind
from labeling.task_types import task_type_choices, task_type_reserved_message
from labeling.throttling import SigninThrottled, signin_attempt_begin, signin_attempt_end

SECONDS_PER_HOUR = 3600
EXAMPLE_SEPARATOR = "|"


class ServiceErrorsMixin:
    """Puts a service's refusal on the field it names (``details["field"]``), else on top."""

    # Service argument name -> form field name, where the two differ.
    service_fields: dict[str, str] = {}

    def add_service_error(self, error: QuorumError) -> None:
        field = error.details.get("field") or ""
        if error.code == "duplicate_name":
            field = "name"
        field = self.service_fields.get(field, field)
        self.add_error(field if field in self.fields else None, error.message)  # type: ignore[attr-defined]


class SigninThrottleMixin:
    """Sign-in throttled per account and per address (labeling/throttling.py): while locked no
    password is checked, and the refusal says how long to wait; ``throttled`` keeps it."""

    throttled: SigninThrottled | None = None

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username")  # type: ignore[attr-defined]
        password = self.cleaned_data.get("password")  # type: ignore[attr-defined]
        if username is None or not password:
            return super().clean()  # type: ignore[misc]
        try:
            attempt = signin_attempt_begin(request=self.request, username=username)  # type: ignore[attr-defined]
        except SigninThrottled as exc:
            self.throttled = exc
            raise forms.ValidationError(exc.message, code="throttled") from None
        try:
            cleaned = super().clean()  # type: ignore[misc]
        except forms.ValidationError:
            signin_attempt_end(attempt=attempt, succeeded=False)
            raise
        signin_attempt_end(attempt=attempt, succeeded=True)
        return cleaned


class SigninForm(SigninThrottleMixin, AuthenticationForm):
    pass


class AdminSigninForm(SigninThrottleMixin, AdminAuthenticationForm):
    pass


class JobTaskTypeField(forms.ChoiceField):
    """A task type a new job may have; a reserved one is refused by name, saying what it is for."""

    def validate(self, value: Any) -> None:
        message = task_type_reserved_message(str(value))
        if message:
            raise forms.ValidationError(message[0].upper() + message[1:] + ".")
        super().validate(value)


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


class JobCreateForm(ServiceErrorsMixin, forms.Form):
    service_fields = {
        "availability_lifetime_seconds": "availability_lifetime_hours",
        "examples": "good_examples",
    }

    name = forms.CharField(max_length=200)
    task_type = JobTaskTypeField(choices=())
    labels = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="One label per line, in the order the keys 1–9 choose them.",
        error_messages={"required": "Enter at least one label, one per line."},
    )
    team = forms.ModelChoiceField(queryset=Team.objects.none(), empty_label=None)
    workers_per_item = forms.IntegerField(
        min_value=1,
        max_value=MAX_WORKERS_PER_ITEM,
        initial=1,
        help_text="How many labelers answer each item; their answers are consolidated.",
    )
    task_time_limit_seconds = forms.IntegerField(
        label="Time limit per task (seconds)",
        min_value=30,
        max_value=8 * SECONDS_PER_HOUR,
        initial=300,
    )
    availability_lifetime_hours = forms.IntegerField(
        label="Job lifetime (hours)",
        min_value=1,
        max_value=30 * 24,
        initial=10 * 24,
        help_text="After this long from its start, the job stops taking answers.",
    )
    max_concurrent_tasks_per_worker = forms.IntegerField(
        label="Tasks a labeler may hold at once", min_value=1, max_value=100, initial=1
    )
    data_may_leave_private = forms.BooleanField(
        required=False,
        label="Its data may leave the private workforce",
        help_text="No personal data, no adult content. Required for a crowd or vendor team.",
    )
    short_instructions = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="One or two sentences shown beside every task.",
    )
    full_instructions = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="Opened with a click (or the I key) from the task.",
    )
    good_examples = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One per line: text | label | why (the why is optional).",
    )
    bad_examples = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One per line: text | wrong label | why it is wrong.",
    )
    label_attribute_name = forms.CharField(
        required=False,
        max_length=127,
        label="Output attribute name",
        help_text="The key of the label in the exported manifest; made from the name if empty.",
    )

    def __init__(self, *args: Any, teams: QuerySet[Team], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["task_type"].choices = task_type_choices()
        self.fields["team"].queryset = teams

    def clean_labels(self) -> list[str]:
        labels = _lines(self.cleaned_data["labels"])
        if not labels:
            raise forms.ValidationError("Enter at least one label, one per line.")
        return labels

    def _examples(self, field: str, kind: str) -> list[dict[str, str]]:
        examples = []
        for number, line in enumerate(_lines(self.cleaned_data.get(field, "")), start=1):
            parts = [part.strip() for part in line.split(EXAMPLE_SEPARATOR)]
            if len(parts) < 2 or len(parts) > 3 or not parts[0] or not parts[1]:
                self.add_error(field, f"Line {number}: write it as  text | label | why.")
                continue
            examples.append(
                {
                    "kind": kind,
                    "source": parts[0],
                    "label": parts[1],
                    "explanation": parts[2] if len(parts) == 3 else "",
                }
            )
        labels = self.cleaned_data.get("labels") or []
        for example in examples:
            if labels and example["label"] not in labels:
                self.add_error(field, f"{example['label']!r} is not one of the labels.")
        return examples

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        cleaned["examples"] = self._examples("good_examples", "good") + self._examples(
            "bad_examples", "bad"
        )
        return cleaned

    def service_kwargs(self) -> dict[str, Any]:
        """The cleaned input as the keyword arguments of ``services.jobs.job_create``."""
        data = self.cleaned_data
        return {
            "name": data["name"],
            "task_type": data["task_type"],
            "labels": data["labels"],
            "team": data["team"],
            "workers_per_item": data["workers_per_item"],
            "task_time_limit_seconds": data["task_time_limit_seconds"],
            "availability_lifetime_seconds": data["availability_lifetime_hours"] * SECONDS_PER_HOUR,
            "max_concurrent_tasks_per_worker": data["max_concurrent_tasks_per_worker"],
            "short_instructions": data["short_instructions"],
            "full_instructions": data["full_instructions"],
            "examples": data["examples"],
            "label_attribute_name": data["label_attribute_name"],
            "data_may_leave_private": data["data_may_leave_private"],
        }


class TeamCreateForm(ServiceErrorsMixin, forms.Form):
    name = forms.CharField(max_length=100, label="Team name")
    kind = forms.ChoiceField(
        choices=TeamKind.choices,
        initial=TeamKind.PRIVATE,
        required=False,
        help_text="Crowd and vendor teams only get jobs whose data may leave the private "
        "workforce.",
    )


class LabelerAddForm(ServiceErrorsMixin, forms.Form):
    username = forms.CharField(max_length=150)
    password = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Required for a new labeler; leave empty to add an existing one to a team.",
    )
    team = forms.ModelChoiceField(queryset=Team.objects.none(), empty_label=None)

    def __init__(self, *args: Any, teams: QuerySet[Team], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = teams

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        username = cleaned.get("username", "")
        if not username:
            return cleaned
        existing = selectors.user_by_username(username=username)
        if existing is None and not cleaned.get("password"):
            self.add_error("password", "A new labeler needs a password.")
        elif existing is not None and cleaned.get("password"):
            # Never reset someone's password as a side effect of adding them to a team.
            self.add_error(
                "password", f"{username!r} exists already: leave the password empty to add them."
            )
        elif existing is not None and existing.role != Role.LABELER:
            self.add_error("username", f"{username!r} is a {existing.role}, not a labeler.")
        return cleaned
