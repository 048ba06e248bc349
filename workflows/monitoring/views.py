"""The monitoring page of a flow in the manager console (server-rendered, inline SVG)."""

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from labeling.views import manager_page
from workflows.monitoring import selectors
from workflows.monitoring.charts import accuracy_chart, calibration_chart
from workflows.monitoring.stats import WINDOWS
from workflows.selectors import flow_get_for_user


@require_GET
@manager_page
def flow_monitoring(request: HttpRequest, flow_id: int) -> HttpResponse:
    flow = flow_get_for_user(flow_id=flow_id, user=request.user)
    if flow is None:
        raise Http404("no such flow")
    window = request.GET.get("window", "hour")
    if window not in WINDOWS:
        window = "hour"
    version = request.GET.get("version")
    figures = selectors.quality_figures(flow=flow, model_version=version, window=window)
    matrix = figures["confusion"]
    biggest = max([max(row) for row in matrix["matrix"]] or [0]) or 1
    confusion_rows = [
        {
            "label": label,
            "cells": [
                {"count": count, "shade": round(5 * count / biggest), "diagonal": i == j}
                for j, count in enumerate(row)
            ],
        }
        for i, (label, row) in enumerate(zip(matrix["labels"], matrix["matrix"], strict=True))
    ]
    context = {
        "flow": flow,
        "figures": figures,
        "windows": list(WINDOWS),
        "accuracy_svg": accuracy_chart(figures),
        "calibration_svg": calibration_chart(figures["calibration"]),
        "confusion_rows": confusion_rows,
        "config": selectors.monitor_config_of(flow=flow),
        "open_alerts": selectors.open_alerts(flow=flow),
    }
    return render(request, "workflows/flow_monitoring.html", context)
