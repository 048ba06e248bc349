"""StartHumanLoop on a flow of a built-in review type (document key values, image
moderation): the flow's conditions are evaluated on the AI service's answer in the input, and
a loop that nothing activates is not started (the runtime then answers without a
``HumanLoopArn``, as its model allows)."""

from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass

from django.db import transaction

from labeling.errors import ValidationFailed
from workflows.conditions import sampled
from workflows.inference import (
    TASK_TYPE_SOURCES,
    InputProblem,
    activation,
    loop_inference,
    review_line,
)
from workflows.models import Flow, HumanLoop
from workflows.services import loop_inputs, loops
from workflows.services.flows import check_name


@dataclass(frozen=True)
class BuiltinStart:
    """What a StartHumanLoop on a built-in review flow did: the loop (None when no condition
    activated one) and the evaluated conditions."""

    loop: HumanLoop | None
    activated: bool
    reasons: list[str]
    results: dict


def flow_builtin_source(flow: Flow) -> str:
    """The managed request source a flow reviews ("" for the other flows)."""
    return TASK_TYPE_SOURCES.get(flow.job.task_type, "")


def builtin_loop_start(
    *,
    flow: Flow,
    name: str,
    input_content: str,
    content_classifiers: Sequence[str] | None = None,
    open_now: int | None = None,
    force: bool = False,
) -> BuiltinStart:
    """Start a loop if the flow's conditions (or its sample) send this input to people; a flow
    without conditions and sample sends every input; ``force`` starts it whatever they say."""
    source = flow_builtin_source(flow)
    check_name(name, field="HumanLoopName")
    classifiers = loop_inputs.check_content_classifiers(flow=flow, classifiers=content_classifiers)
    content = loop_inputs.parse_input_content(input_content)
    try:
        inference = loop_inference(source, content)
    except InputProblem as exc:
        raise ValidationFailed(str(exc), details={"field": "InputContent"}) from None
    if not inference.image_ref:
        what = "document" if "Textract" in source else "image"
        raise ValidationFailed(
            f"the input content names no {what}: aiServiceRequest.{what}.s3Object "
            "(bucket and name) is required",
            details={"field": "InputContent"},
        )
    found = activation(flow.conditions, inference)
    by_sample = sampled(content, flow.sample_percent, salt=str(flow.pk))
    everything = not flow.conditions and not flow.sample_percent
    reasons = [
        reason
        for reason, hit in (
            ("ConditionsEvaluation", found.activated),
            ("Sampling", by_sample),
            ("AllRequests", everything),
            ("Requested", force),
        )
        if hit
    ]
    if not reasons:
        return BuiltinStart(None, False, [], found.results)
    line = review_line(flow.conditions, inference, found)
    spec = loops.LoopSpec(
        name,
        input_content,
        line,
        content_classifiers=tuple(classifiers),
        route_reason="+".join(reasons)[:32],
    )
    # On PostgreSQL one loop is written by one statement, atomic by itself.
    with nullcontext() if loops._ONE_STATEMENT_START else transaction.atomic():
        (loop,) = loops.human_loops_create(flow=flow, specs=[spec], open_now=open_now)
    return BuiltinStart(loop, True, reasons, found.results)
