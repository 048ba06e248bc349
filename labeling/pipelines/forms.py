"""The console's taxonomy form: a name, a team, a task type and the tree as JSON."""

import json

from django import forms

from labeling.models import Team
from labeling.task_types import get_task_type, task_type_choices
from labeling.task_types.base import answers_one_class

EXAMPLE = '{"labels": ["cat", "dog"], "children": {"dog": {"labels": ["baby", "adult"]}}}'


class TaxonomyForm(forms.Form):
    name = forms.CharField(max_length=200)
    team = forms.ModelChoiceField(queryset=Team.objects.order_by("name"), empty_label=None)
    task_type = forms.ChoiceField(choices=())
    workers_per_item = forms.IntegerField(min_value=1, max_value=9, initial=1)
    attributes = forms.CharField(
        required=False,
        help_text="One label attribute per level, separated by commas (empty: "
        "<name>-level-1, <name>-level-2, …).",
    )
    definition = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 12, "spellcheck": "false"}),
        help_text=f"The tree of labels as JSON, e.g. {EXAMPLE}",
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["task_type"].choices = [
            (key, title)
            for key, title in task_type_choices()
            if answers_one_class(get_task_type(key))
        ]

    def clean_definition(self) -> dict:
        try:
            value = json.loads(self.cleaned_data["definition"])
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(
                f"not valid JSON: {exc.msg} at column {exc.colno}"
            ) from None
        if not isinstance(value, dict):
            raise forms.ValidationError('the tree is an object {"labels": [...], "children": …}')
        return value

    def clean_attributes(self) -> list[str] | None:
        text = self.cleaned_data["attributes"].strip()
        return [part.strip() for part in text.split(",")] if text else None
