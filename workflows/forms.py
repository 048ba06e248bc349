"""Forms of the review-loop console pages: they parse and check input; the services write."""

import json
from typing import Any

from django import forms
from django.db.models import QuerySet

from labeling.forms import ServiceErrorsMixin
from labeling.models import MAX_WORKERS_PER_ITEM, Job, Team
from labeling.task_types import task_type_choices

SECONDS_PER_HOUR = 3600


class FlowCreateForm(ServiceErrorsMixin, forms.Form):
    service_fields = {"loop_lifetime_seconds": "loop_lifetime_hours"}

    name = forms.CharField(
        max_length=63, help_text="1–63 of a-z, 0-9 and hyphens: it is the flow's ARN name."
    )
    task_type = forms.ChoiceField(choices=())
    labels = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}), help_text="One label per line (keys 1–9)."
    )
    team = forms.ModelChoiceField(queryset=Team.objects.none(), empty_label=None)
    data_may_leave_private = forms.BooleanField(
        required=False,
        label="Its data may leave the private workforce",
        help_text="Needed for a crowd or vendor team; every loop must then declare its content "
        "FreeOfPersonallyIdentifiableInformation and FreeOfAdultContent.",
    )
    workers_per_loop = forms.IntegerField(min_value=1, max_value=MAX_WORKERS_PER_ITEM, initial=1)
    task_time_limit_seconds = forms.IntegerField(
        label="Time limit per task (seconds)", min_value=30, max_value=8 * 3600, initial=300
    )
    loop_lifetime_hours = forms.FloatField(
        label="Loop lifetime (hours)",
        min_value=1 / 60,
        max_value=30 * 24,
        initial=24,
        help_text="A loop whose reviewers have not finished by then fails.",
    )
    confidence_below = forms.FloatField(
        required=False,
        min_value=0,
        max_value=1,
        help_text="Send predictions with a confidence under this to people.",
    )
    conditions = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text='Or a condition tree as JSON, e.g. {"any": [{"confidence_below": 0.8}, '
        '{"label_in": ["spam"]}]} (see docs/review-loops.md).',
    )
    sample_percent = forms.FloatField(
        required=False,
        min_value=0.01,
        max_value=100,
        help_text="Also send this share of all predictions, drawn by input content.",
    )
    webhook_url = forms.URLField(required=False, max_length=500, assume_scheme="https")
    dataset_job = forms.ModelChoiceField(
        queryset=Job.objects.none(),
        required=False,
        help_text="Reviewed loops join this job as human-labelled items (training data).",
    )
    short_instructions = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    custom_template = forms.CharField(
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false"}),
        help_text="Optional: your own task UI (Jinja2 with the crowd-* elements) instead of the "
        "built-in review UI.",
    )

    def __init__(self, *args: Any, teams: QuerySet[Team], jobs: QuerySet[Job], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = teams
        self.fields["dataset_job"].queryset = jobs
        self.fields["task_type"].choices = task_type_choices()

    def clean_conditions(self) -> dict[str, Any]:
        text = self.cleaned_data["conditions"].strip()
        if not text:
            return {}
        try:
            return json.loads(text)
        except ValueError as exc:
            raise forms.ValidationError(f"not JSON: {exc}") from None

    def service_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        conditions = data["conditions"]
        if not conditions and data.get("confidence_below") is not None:
            conditions = {"confidence_below": data["confidence_below"]}
        return {
            "name": data["name"],
            "task_type": data["task_type"],
            "labels": [line.strip() for line in data["labels"].splitlines() if line.strip()],
            "team": data["team"],
            "workers_per_loop": data["workers_per_loop"],
            "task_time_limit_seconds": data["task_time_limit_seconds"],
            "loop_lifetime_seconds": round(data["loop_lifetime_hours"] * SECONDS_PER_HOUR),
            "conditions": conditions,
            "sample_percent": data.get("sample_percent"),
            "webhook_url": data.get("webhook_url") or "",
            "dataset_job": data.get("dataset_job"),
            "short_instructions": data.get("short_instructions") or "",
            "custom_template": data.get("custom_template") or "",
            "data_may_leave_private": bool(data.get("data_may_leave_private")),
        }
