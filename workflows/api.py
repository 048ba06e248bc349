"""The review-loop REST API under /api/v1/: flows, predictions, loops, reviewer tasks."""

import json

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling.errors import NotFound, ValidationFailed
from labeling.permissions import IsLabeler, IsManager
from labeling.serializers import ErrorOut, LeaseOut, lease_payload
from labeling.services.assignments import assignment_claim
from workflows import selectors
from workflows.builtin_exports import flow_outputs_jsonl, key_value_corrections_csv
from workflows.inference import TEXTRACT_FORMS
from workflows.models import Flow, HumanLoop
from workflows.serializers import (
    DeliveryOut,
    FlowBriefOut,
    FlowCreatedOut,
    FlowIn,
    FlowOut,
    FlowStatusIn,
    LoopDetailOut,
    LoopPageOut,
    LoopQuery,
    LoopStartIn,
    RoutingOut,
)
from workflows.services.builtin_loops import builtin_loop_start, flow_builtin_source
from workflows.services.flows import flow_create, flow_set_status
from workflows.services.loop_inputs import model_of_prediction
from workflows.services.loops import (
    human_loop_delete,
    human_loop_start,
    human_loop_stop,
)
from workflows.services.predictions import predictions_route

ERRORS = {code: OpenApiResponse(ErrorOut) for code in (400, 401, 402, 403, 404, 409)}


def _flow_for(request: Request, flow_id: int) -> Flow:
    flow = selectors.flow_get_for_user(flow_id=flow_id, user=request.user)
    if flow is None:
        raise NotFound(f"there is no flow {flow_id} that you can see")
    return flow


def _loop_for(name: str) -> HumanLoop:
    loop = selectors.loop_get(name=name)
    if loop is None:
        raise NotFound(f"there is no human loop {name}")
    return loop


class FlowListCreate(APIView):
    def get_permissions(self):
        return [IsManager()] if self.request.method == "POST" else [IsAuthenticated()]

    @extend_schema(
        responses={200: FlowOut(many=True)},
        summary="Flows you can see",
        description="Managers get every field; a labeler gets id, name, description and task "
        "type of the flows of their teams.",
    )
    def get(self, request: Request) -> Response:
        flows = selectors.flows_for_user(user=request.user)[:500]
        shape = FlowOut if request.user.is_manager else FlowBriefOut
        return Response(shape(flows, many=True).data)

    @extend_schema(
        request=FlowIn, responses={201: FlowCreatedOut, **ERRORS}, summary="Create a flow"
    )
    def post(self, request: Request) -> Response:
        data = FlowIn(data=request.data)
        data.is_valid(raise_exception=True)
        flow = flow_create(created_by=request.user, **data.validated_data)
        return Response(FlowCreatedOut(flow).data, status=status.HTTP_201_CREATED)


class FlowDetail(APIView):
    permission_classes = [IsManager]

    @extend_schema(responses={200: FlowOut, **ERRORS}, summary="A flow")
    def get(self, request: Request, flow_id: int) -> Response:
        return Response(FlowOut(_flow_for(request, flow_id)).data)

    @extend_schema(
        request=FlowStatusIn,
        responses={200: FlowOut, **ERRORS},
        summary="Activate or deactivate a flow (an inactive flow starts no loops)",
    )
    def patch(self, request: Request, flow_id: int) -> Response:
        data = FlowStatusIn(data=request.data)
        data.is_valid(raise_exception=True)
        flow = flow_set_status(flow=_flow_for(request, flow_id), **data.validated_data)
        return Response(FlowOut(flow).data)


class FlowStats(APIView):
    permission_classes = [IsManager]

    @extend_schema(
        responses={200: OpenApiTypes.OBJECT},
        summary="Dashboard figures: share routed to people, agreement over time, loops by status",
    )
    def get(self, request: Request, flow_id: int) -> Response:
        return Response(selectors.flow_stats(flow=_flow_for(request, flow_id)))


class FlowPredictions(APIView):
    permission_classes = [IsManager]

    @extend_schema(
        request={
            "application/json": {
                "oneOf": [
                    {"type": "object", "properties": {"predictions": {"type": "array"}}},
                    {"type": "array", "items": {"type": "object"}},
                    {"type": "object", "properties": {"id": {}, "input": {}, "prediction": {}}},
                ]
            }
        },
        responses={200: RoutingOut, **ERRORS},
        summary="Route predictions: each is accepted or becomes a human loop (idempotent per id)",
        description=(
            'Send one prediction {"id", "input", "prediction": {"label", "confidence"}}, a list of '
            'them, or {"predictions": [...]} (at most 1000 per call). A repeated id gets the '
            "decision and loop of its first call."
        ),
    )
    def post(self, request: Request, flow_id: int) -> Response:
        flow = _flow_for(request, flow_id)
        body = request.data
        if isinstance(body, dict) and "predictions" in body:
            predictions = body["predictions"]
        elif isinstance(body, list):
            predictions = body
        elif isinstance(body, dict):
            predictions = [body]
        else:
            raise ValidationFailed("send a prediction, a list of them, or {predictions: [...]}")
        results = predictions_route(flow=flow, predictions=predictions)
        return Response({"results": results})


class FlowLoops(APIView):
    permission_classes = [IsManager]

    @extend_schema(
        parameters=[LoopQuery],
        responses={200: LoopPageOut, **ERRORS},
        summary="A flow's loops: filter by status and creation time, sorted, cursor-paginated",
    )
    def get(self, request: Request, flow_id: int) -> Response:
        flow = _flow_for(request, flow_id)
        query = LoopQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        values = query.validated_data
        try:
            loops, cursor = selectors.loops_page(
                flow=flow,
                status=values.get("status"),
                created_after=values.get("created_after"),
                created_before=values.get("created_before"),
                ascending=values["sort"] == "asc",
                cursor=values.get("cursor"),
                limit=values["limit"],
            )
        except selectors.BadCursor as exc:
            raise ValidationFailed(str(exc), details={"field": "cursor"}) from None
        return Response(LoopPageOut({"loops": loops, "next_cursor": cursor}).data)

    @extend_schema(
        request=LoopStartIn,
        responses={201: LoopDetailOut, **ERRORS},
        summary="Start a human loop whatever the flow's conditions",
    )
    def post(self, request: Request, flow_id: int) -> Response:
        flow = _flow_for(request, flow_id)
        data = LoopStartIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        prediction = values["prediction"] if isinstance(values["prediction"], dict) else {}
        confidence = prediction.get("confidence")
        model_name, model_version = model_of_prediction(prediction)
        if flow_builtin_source(flow):
            # A built-in review: the input is the AI service's answer; started whatever the
            # conditions, like any loop posted here (StartHumanLoop evaluates them).
            started = builtin_loop_start(
                flow=flow,
                name=values["name"],
                input_content=json.dumps(values["input"], ensure_ascii=False),
                content_classifiers=values["content_classifiers"],
                force=True,
            )
            return Response(LoopDetailOut(started.loop).data, status=status.HTTP_201_CREATED)
        loop = human_loop_start(
            flow=flow,
            name=values["name"],
            input_content=json.dumps(values["input"], ensure_ascii=False, separators=(",", ":")),
            model_label=str(prediction.get("label", ""))[:200],
            model_confidence=float(confidence) if isinstance(confidence, int | float) else None,
            content_classifiers=values["content_classifiers"],
            model_name=model_name,
            model_version=model_version,
        )
        return Response(LoopDetailOut(loop).data, status=status.HTTP_201_CREATED)


class LoopDetail(APIView):
    permission_classes = [IsManager]

    @extend_schema(responses={200: LoopDetailOut, **ERRORS}, summary="A loop with its output")
    def get(self, request: Request, name: str) -> Response:
        return Response(LoopDetailOut(_loop_for(name)).data)

    @extend_schema(
        responses={204: None, **ERRORS}, summary="Delete a stopped, completed or failed loop"
    )
    def delete(self, request: Request, name: str) -> Response:
        human_loop_delete(loop=_loop_for(name))
        return Response(status=status.HTTP_204_NO_CONTENT)


class LoopStop(APIView):
    permission_classes = [IsManager]

    @extend_schema(request=None, responses={200: LoopDetailOut, **ERRORS}, summary="Stop a loop")
    def post(self, request: Request, name: str) -> Response:
        loop = human_loop_stop(loop=_loop_for(name))
        return Response(LoopDetailOut(selectors.loop_get(name=loop.name) or loop).data)


class FlowDeliveries(APIView):
    permission_classes = [IsManager]

    @extend_schema(responses={200: DeliveryOut(many=True)}, summary="A flow's webhook deliveries")
    def get(self, request: Request, flow_id: int) -> Response:
        flow = _flow_for(request, flow_id)
        return Response(DeliveryOut(selectors.flow_deliveries(flow=flow), many=True).data)


class FlowTaskNext(APIView):
    permission_classes = [IsLabeler]

    @extend_schema(
        request=None,
        responses={200: LeaseOut, 204: None, **ERRORS},
        summary="Lease the next loop of a flow to review (204 when nothing is left for you)",
    )
    def post(self, request: Request, flow_id: int) -> Response:
        flow = selectors.flow_get_for_user(flow_id=flow_id, user=request.user)
        if flow is None:
            raise NotFound(f"there is no flow {flow_id} that you can see")
        assignment = assignment_claim(job=flow.job, worker=request.user)
        if assignment is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        assignment.job = flow.job
        return Response(lease_payload(assignment))


class FlowOutputsExport(APIView):
    permission_classes = [IsManager]

    @extend_schema(
        responses={(200, "application/jsonl"): OpenApiTypes.STR, **ERRORS},
        summary="The output documents of a flow's completed loops, as JSON Lines",
        description="One line per completed loop: humanAnswers (each reviewer's answerContent), "
        "consolidatedAnswer and inputContent; a built-in review's lines also carry "
        "awsManagedHumanLoopRequestSource and the consolidated answer in the documented shape.",
    )
    def get(self, request: Request, flow_id: int) -> StreamingHttpResponse:
        flow = _flow_for(request, flow_id)
        response = StreamingHttpResponse(
            flow_outputs_jsonl(flow=flow), content_type="application/jsonl"
        )
        response["Content-Disposition"] = f'attachment; filename="{flow.name}-outputs.jsonl"'
        return response


class FlowKeyValueCorrections(APIView):
    permission_classes = [IsManager]

    @extend_schema(
        responses={(200, "text/csv"): OpenApiTypes.STR, **ERRORS},
        summary="A document key-value review flow's corrections, as CSV",
        description="One row per reviewer and pair of each completed loop: the detected key and "
        "value, the reviewed value, the change (unchanged, key, value, box, added, deleted) "
        "and the IoU of the reviewed boxes with the detected ones.",
    )
    def get(self, request: Request, flow_id: int) -> StreamingHttpResponse:
        flow = _flow_for(request, flow_id)
        if flow_builtin_source(flow) != TEXTRACT_FORMS:
            raise ValidationFailed(
                f"flow {flow.name} is not a document-key-value-review flow: it has no key-value "
                "corrections",
                details={"field": "flow"},
            )
        response = StreamingHttpResponse(
            key_value_corrections_csv(flow=flow), content_type="text/csv"
        )
        response["Content-Disposition"] = f'attachment; filename="{flow.name}-corrections.csv"'
        return response
