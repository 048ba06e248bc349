"""A flow's monitoring settings: tolerance, false-alarm rate, audit boost, retraining,
ground-truth schedule."""

from typing import Any

from django.db import transaction

from labeling.errors import ValidationFailed
from workflows.models import Flow, MonitorConfig
from workflows.monitoring.services.ground_truth import check_output_uri

_RANGES: dict[str, tuple[float, float]] = {
    "tolerance": (0.0, 0.5),
    "design_drop": (0.005, 0.5),
    "calibration_tolerance": (0.0, 0.5),
    "boosted_sample_percent": (0.01, 100),
}
_INTEGERS: dict[str, tuple[int, int]] = {
    "false_alarm_labels": (100, 100_000_000),
    "retrain_after_labels": (1, 10_000_000),
    "ground_truth_every_seconds": (60, 30 * 86400),
}
_NULLABLE = {"boosted_sample_percent", "retrain_after_labels", "ground_truth_every_seconds"}
FIELDS = (*_RANGES, *_INTEGERS, "retrain_on_alert", "ground_truth_uri")


def monitor_config_update(*, flow: Flow, **changes: Any) -> MonitorConfig:
    """Change some settings (the others keep their values); each is checked."""
    clean: dict[str, Any] = {}
    for name, value in changes.items():
        if name not in FIELDS:
            raise ValidationFailed(f"{name}: not a monitoring setting", details={"field": name})
        if value is None and name in _NULLABLE:
            clean[name] = None
        elif name in _RANGES:
            low, high = _RANGES[name]
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValidationFailed(f"{name}: a number", details={"field": name})
            if not low <= value <= high:
                raise ValidationFailed(f"{name}: from {low} to {high}", details={"field": name})
            clean[name] = float(value)
        elif name in _INTEGERS:
            low, high = _INTEGERS[name]
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise ValidationFailed(
                    f"{name}: a whole number from {low} to {high}", details={"field": name}
                )
            clean[name] = value
        elif name == "retrain_on_alert":
            if not isinstance(value, bool):
                raise ValidationFailed(f"{name}: true or false", details={"field": name})
            clean[name] = value
        else:
            if not isinstance(value, str) or len(value) > 500:
                raise ValidationFailed(f"{name}: a text", details={"field": name})
            clean[name] = check_output_uri(value)
    with transaction.atomic():
        config, _ = MonitorConfig.objects.select_for_update().get_or_create(flow=flow)
        for name, value in clean.items():
            setattr(config, name, value)
        if clean:
            config.save(update_fields=list(clean))
    return config
