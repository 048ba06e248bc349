"""The monitoring API under /api/v1/flows/{id}/monitoring…: figures, alerts, baselines,
settings, evaluation, ground truth. Managers only (the flow's figures are theirs)."""

from django.db import transaction
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling.errors import NotFound
from labeling.permissions import IsManager
from labeling.serializers import ErrorOut
from workflows.models import Flow
from workflows.monitoring import selectors
from workflows.monitoring.serializers import (
    BaselineIn,
    BaselineOut,
    FiguresQuery,
    GroundTruthQuery,
    MonitorConfigIO,
)
from workflows.monitoring.services.alerts import monitoring_evaluate
from workflows.monitoring.services.baselines import baseline_set
from workflows.monitoring.services.config import monitor_config_update
from workflows.monitoring.services.ground_truth import (
    ground_truth_csv,
    ground_truth_export,
    ground_truth_jsonl,
    ground_truth_rows,
)
from workflows.selectors import flow_get_for_user
from workflows.services.flows import flow_set_sample_percent

ERRORS = {code: OpenApiResponse(ErrorOut) for code in (400, 401, 403, 404)}


def _flow_for(request: Request, flow_id: int) -> Flow:
    flow = flow_get_for_user(flow_id=flow_id, user=request.user)
    if flow is None:
        raise NotFound(f"there is no flow {flow_id} that you can see")
    return flow


class FlowMonitoring(APIView):
    permission_classes = [IsManager]

    @extend_schema(
        parameters=[FiguresQuery],
        responses={200: OpenApiTypes.OBJECT, **ERRORS},
        summary="Model quality from the random audit: windows with intervals, baseline, "
        "confusion, calibration, share routed, rule loops beside, alerts",
    )
    def get(self, request: Request, flow_id: int) -> Response:
        flow = _flow_for(request, flow_id)
        query = FiguresQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        values = query.validated_data
        return Response(
            selectors.quality_figures(
                flow=flow,
                model_version=values.get("model_version"),
                window=values["window"],
                count=values["count"],
            )
        )


class FlowMonitoringAlerts(APIView):
    permission_classes = [IsManager]

    @extend_schema(responses={200: OpenApiTypes.OBJECT, **ERRORS}, summary="A flow's alerts")
    def get(self, request: Request, flow_id: int) -> Response:
        flow = _flow_for(request, flow_id)
        alerts = [selectors.alert_as_dict(alert) for alert in selectors.alerts_of(flow=flow)]
        return Response({"alerts": alerts})


class FlowMonitoringEvaluate(APIView):
    permission_classes = [IsManager]

    @extend_schema(
        request=None,
        responses={200: OpenApiTypes.OBJECT, **ERRORS},
        summary="Evaluate the drift detectors now (the beat task does it every few minutes)",
    )
    def post(self, request: Request, flow_id: int) -> Response:
        result = monitoring_evaluate(flow=_flow_for(request, flow_id))
        if result["retrain"] and result["retrain"].get("since"):
            result["retrain"]["since"] = result["retrain"]["since"].isoformat()
        return Response(result)


class FlowMonitoringBaselines(APIView):
    permission_classes = [IsManager]

    @extend_schema(
        request=BaselineIn,
        responses={201: BaselineOut, **ERRORS},
        summary="State a model version's baseline accuracy, or post its validation metrics",
    )
    def post(self, request: Request, flow_id: int) -> Response:
        flow = _flow_for(request, flow_id)
        data = BaselineIn(data=request.data)
        data.is_valid(raise_exception=True)
        baseline = baseline_set(flow=flow, **data.validated_data)
        return Response(BaselineOut(baseline).data, status=status.HTTP_201_CREATED)


class FlowMonitoringSettings(APIView):
    permission_classes = [IsManager]

    @extend_schema(responses={200: MonitorConfigIO, **ERRORS}, summary="Monitoring settings")
    def get(self, request: Request, flow_id: int) -> Response:
        flow = _flow_for(request, flow_id)
        return Response(MonitorConfigIO(selectors.monitor_config_of(flow=flow)).data)

    @extend_schema(
        request=MonitorConfigIO,
        responses={200: MonitorConfigIO, **ERRORS},
        summary="Change monitoring settings",
    )
    def patch(self, request: Request, flow_id: int) -> Response:
        flow = _flow_for(request, flow_id)
        data = MonitorConfigIO(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        changes = dict(data.validated_data)
        with transaction.atomic():
            if "flow" in changes:
                share = changes.pop("flow")["sample_percent"]
                flow_set_sample_percent(flow=flow, sample_percent=share)
            config = monitor_config_update(flow=flow, **changes)
        return Response(MonitorConfigIO(config).data)


class FlowGroundTruth(APIView):
    permission_classes = [IsManager]

    @extend_schema(
        parameters=[GroundTruthQuery],
        responses={(200, "application/jsonl"): OpenApiTypes.STR, **ERRORS},
        summary="The human labels keyed by prediction id: the ground-truth merge format "
        "(JSON Lines) or CSV",
    )
    def get(self, request: Request, flow_id: int) -> StreamingHttpResponse:
        flow = _flow_for(request, flow_id)
        query = GroundTruthQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        values = query.validated_data
        rows = ground_truth_rows(flow=flow, since=values.get("since"), until=values.get("until"))
        if values["format"] == "csv":
            body, kind, suffix = ground_truth_csv(rows), "text/csv; charset=utf-8", "csv"
        else:
            body, kind, suffix = ground_truth_jsonl(rows), "application/jsonl", "jsonl"
        response = StreamingHttpResponse(body, content_type=kind)
        response["Content-Disposition"] = (
            f'attachment; filename="{flow.name}-ground-truth.{suffix}"'
        )
        return response


class FlowGroundTruthExport(APIView):
    permission_classes = [IsManager]

    @extend_schema(
        request=None,
        responses={200: OpenApiTypes.OBJECT, **ERRORS},
        summary="Write the labels since the last export to the flow's ground-truth location now",
    )
    def post(self, request: Request, flow_id: int) -> Response:
        result = ground_truth_export(flow=_flow_for(request, flow_id))
        result["since"] = result["since"].isoformat() if result["since"] else None
        result["until"] = result["until"].isoformat()
        return Response(result)
