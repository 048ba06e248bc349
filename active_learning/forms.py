"""Forms of the automated-labeling console page; they validate, the services write."""

from django import forms

from active_learning.strategies import strategy_choices


class AutoLabelingForm(forms.Form):
    target_accuracy = forms.FloatField(min_value=0.5, max_value=0.999, initial=0.95)
    human_budget = forms.IntegerField(min_value=1, required=False)
    strategy = forms.ChoiceField(choices=strategy_choices, initial="margin")
    validation_size = forms.IntegerField(min_value=0, max_value=100_000, initial=200)
    round_every = forms.IntegerField(min_value=1, initial=50)
    preannotate = forms.BooleanField(required=False, label="Show the model's suggestion")
    target_mean_iou = forms.FloatField(
        min_value=0.05,
        max_value=0.999,
        required=False,
        label="Target mean IoU (box and mask jobs; blank: 0.6 boxes, 0.7 masks)",
    )

    def service_kwargs(self) -> dict:
        values = dict(self.cleaned_data)
        if values.get("target_mean_iou") is None:  # classification jobs do not take it
            values.pop("target_mean_iou", None)
        return values


class AuditForm(forms.Form):
    sample_size = forms.IntegerField(min_value=1, max_value=5000, initial=100)
