"""Reads of active learning: each fetches what its page or endpoint shows."""

from typing import Any

from django.db.models import Count, Q

from active_learning.labelspace import label_key
from active_learning.models import (
    Audit,
    AutoLabel,
    AutoLabeling,
    HeldOutItem,
    ModelArtifact,
    Suggestion,
    TrainingRound,
)
from active_learning.services.budget import budget_use
from labeling.models import Assignment, ConsolidatedLabel, Item
from labeling.states import ItemStatus
from workflows.monitoring.selectors import job_alerts
from workflows.monitoring.stats import accuracy_detector, threshold_for, wilson


def auto_labeling_for_job(*, job_id: int) -> AutoLabeling | None:
    return AutoLabeling.objects.filter(job_id=job_id).first()


def rounds_for_job(*, job_id: int, limit: int = 200) -> list[TrainingRound]:
    return list(
        TrainingRound.objects.filter(job_id=job_id)
        .select_related("artifact")
        .order_by("-number")[:limit]
    )[::-1]


def models_for_job(*, job_id: int, limit: int = 200) -> list[ModelArtifact]:
    return list(ModelArtifact.objects.filter(job_id=job_id).order_by("-version")[:limit])


def audits_for_job(*, job_id: int, limit: int = 50) -> list[Audit]:
    return list(Audit.objects.filter(job_id=job_id).order_by("-created_at")[:limit])


def label_sources(*, job_id: int) -> dict[str, int]:
    """Items labeled by humans and by models, and held-out items (labeled or not)."""
    counts = ConsolidatedLabel.objects.filter(job_id=job_id).aggregate(
        human=Count("id", filter=Q(human_annotated=True)),
        auto=Count("id", filter=Q(human_annotated=False)),
    )
    counts["held_out"] = HeldOutItem.objects.filter(job_id=job_id).count()
    return counts


def budget_status(*, config: AutoLabeling | None) -> dict[str, Any] | None:
    """The human budget: used (labeled + in progress), whether it is spent, what is left
    unlabeled and why. None when the job has no budget."""
    if config is None or config.human_budget is None:
        return None
    use = budget_use(job_id=config.job_id, budget=config.human_budget)
    unlabeled = Item.objects.filter(job_id=config.job_id, status=ItemStatus.OPEN).count()
    spent = use.spent and config.enabled
    message = ""
    if spent:
        message = (
            f"The human budget of {use.budget} items is spent: humans get no new items. "
            f"{unlabeled} items are left unlabeled"
            + (
                f" (the model could not prove {config.target_accuracy} accuracy on them)"
                if config.budget_spent_at
                else f" ({use.in_progress} being finished by humans first)"
            )
            + "; raise the budget to send them to humans."
        )
    return {
        "budget": use.budget,
        "labeled": use.labeled,
        "in_progress": use.in_progress,
        "used": use.used,
        "left": max(use.budget - use.used, 0),
        "spent": spent,
        "spent_at": config.budget_spent_at,
        "unlabeled": unlabeled,
        "message": message,
    }


def suggestion_stats(*, job_id: int) -> dict[str, Any]:
    """Of the suggestions humans have answered since, how many they changed."""
    answered = Suggestion.objects.filter(
        job_id=job_id, item__consolidated__human_annotated=True
    ).values_list("label", "value", "item__consolidated__label", "item__consolidated__value")
    total = changed = 0
    for suggested, suggested_value, given, given_value in answered.iterator():
        total += 1
        changed += label_key(suggested, suggested_value) != label_key(given, given_value)
    return {
        "answered": total,
        "changed": changed,
        "changed_share": changed / total if total else None,
    }


def chart_by_round(*, job_id: int) -> list[dict[str, Any]]:
    """Validation accuracy and the share auto-labeled after each finished round."""
    return [
        {
            "round": number,
            "validation_accuracy": accuracy,
            "share_auto": (auto / total) if total else 0.0,
            "threshold": threshold,
        }
        for number, accuracy, auto, total, threshold in TrainingRound.objects.filter(
            job_id=job_id, status="done"
        )
        .order_by("number")
        .values_list("number", "validation_accuracy", "items_auto", "items_total", "threshold")
    ]


def suggestion_for_assignment(*, assignment: Assignment) -> dict[str, Any] | None:
    """The model's suggestion for a task, if its job pre-annotates and one exists."""
    preannotate = AutoLabeling.objects.filter(
        job_id=assignment.job_id, enabled=True, preannotate=True
    ).exists()
    if not preannotate:
        return None
    found = (
        Suggestion.objects.filter(item_id=assignment.item_id).values("label", "confidence").first()
    )
    return found


# The automated labels' accuracy over their audits, watched like a flow's model
# (docs/monitoring.md): alert when it falls this far below the accuracy the audits promised.
AUTO_LABEL_TOLERANCE = 0.02
AUTO_LABEL_DESIGN_DROP = 0.05
AUTO_LABEL_FALSE_ALARM_LABELS = 50_000


def auto_label_quality(*, job_id: int) -> dict[str, Any]:
    """The accuracy of a job's automated labels over all their audits (human labels in the
    order they arrived), with its interval and the sequential detector's verdict against
    the accuracy the audits promised. Box and mask audits (mean IoU, issue 19) are not
    accuracies and are left out: their measure and bound are on the audit rows."""
    audited = list(
        AutoLabel.objects.filter(
            job_id=job_id, audit__isnull=False, audit__metric="accuracy"
        ).values_list("item_id", "label", "value", "audit__promised_accuracy")
    )
    human = {
        item_id: (label_key(label, value), created)
        for item_id, label, value, created in ConsolidatedLabel.objects.filter(
            item_id__in=[row[0] for row in audited], human_annotated=True
        ).values_list("item_id", "label", "value", "created_at")
    }
    answered = sorted(
        (human[item_id][1], item_id, label_key(label, value) == human[item_id][0], promised)
        for item_id, label, value, promised in audited
        if item_id in human
    )
    correct = [row[2] for row in answered]
    promised = max((row[3] for row in answered), default=None)
    low, high = wilson(sum(correct), len(correct))
    result: dict[str, Any] = {
        "labels": len(correct),
        "accuracy": sum(correct) / len(correct) if correct else None,
        "low": low if correct else None,
        "high": high if correct else None,
        "promised_accuracy": promised,
        "alert": None,
        "episodes": [],
        # The stored alerts (opened and cleared by the monitoring sweep), newest first.
        "alerts": job_alerts(job_id=job_id),
    }
    if promised is None:
        return result
    null = promised - AUTO_LABEL_TOLERANCE
    detection = accuracy_detector(
        correct,
        null_accuracy=null,
        alternative_accuracy=null - AUTO_LABEL_DESIGN_DROP,
        h=threshold_for(AUTO_LABEL_FALSE_ALARM_LABELS),
    )
    episodes = [
        {
            "started_at": answered[e.started_at_label][0],
            "fired_at": answered[e.fired_at_label][0],
            "cleared_at": None if e.cleared_at_label is None else answered[e.cleared_at_label][0],
            "estimate": e.estimate,
            "bound": e.bound,
            "labels": e.labels,
            "threshold": null,
            "promised_accuracy": promised,
            "fired_by_item": answered[e.fired_at_label][1],
        }
        for e in detection.episodes
    ]
    result["episodes"] = episodes
    result["alert"] = episodes[-1] if detection.open_episode else None
    return result
