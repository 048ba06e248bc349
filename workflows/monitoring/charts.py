"""Inline SVG figures of the monitoring page (no script, no CDN): accuracy per window with
its intervals, the baseline band and the alerts; the calibration plot."""

from datetime import datetime
from typing import Any

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from workflows.monitoring.stats import window_start

WIDTH, HEIGHT = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 12, 28


def _y(value: float, low: float, high: float) -> float:
    return TOP + (HEIGHT - TOP - BOTTOM) * (1 - (value - low) / (high - low or 1))


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def accuracy_chart(figures: dict[str, Any]) -> SafeString:
    """Windows' accuracy (dots) and 95 % intervals (bars); the baseline and the alert level
    as a band; open and cleared alerts as marks on their window."""
    windows = figures["windows"]
    if not windows:
        return mark_safe('<p class="muted">No audited labels in these windows yet.</p>')
    lows = [w["low"] for w in windows if w["low"] is not None]
    baseline = figures["baseline"]
    floor = min([*lows, baseline["alert_below"] if baseline else 1.0, 0.9]) - 0.02
    low, high = max(0.0, floor), 1.0
    plot = WIDTH - LEFT - RIGHT
    step = plot / max(1, len(windows))
    parts = [
        f'<svg class="monitor-chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="Accuracy per {escape(figures["window"])} with 95% intervals" '
        f'xmlns="http://www.w3.org/2000/svg">'
    ]
    for tick in (low, (low + high) / 2, high):
        y = _y(tick, low, high)
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
            f'<text x="{LEFT - 4}" y="{y + 4:.1f}" text-anchor="end" class="tick">'
            f"{tick:.0%}</text>"
        )
    if baseline:
        top = _y(baseline["accuracy"], low, high)
        bottom = _y(max(low, baseline["alert_below"]), low, high)
        parts.append(
            f'<rect x="{LEFT}" y="{top:.1f}" width="{plot}" height="{bottom - top:.1f}" '
            f'class="baseline-band"><title>baseline {baseline["accuracy"]:.3f} '
            f"({escape(baseline['source'])}); alert below {baseline['alert_below']:.3f}"
            "</title></rect>"
        )
    index = {w["start"]: position for position, w in enumerate(windows)}
    for position, window in enumerate(windows):
        x = LEFT + step * (position + 0.5)
        if window["accuracy"] is None:
            continue
        parts.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{_y(window["high"], low, high):.1f}" '
            f'y2="{_y(window["low"], low, high):.1f}" class="interval"/>'
            f'<circle cx="{x:.1f}" cy="{_y(window["accuracy"], low, high):.1f}" r="3" '
            f'class="estimate"><title>{escape(window["start"])}: {window["accuracy"]:.3f} '
            f"[{window['low']:.3f}, {window['high']:.3f}] of {window['labels']} labels"
            "</title></circle>"
        )
    first = _parse(windows[0]["start"])
    for alert in figures["alerts"]:
        # On the window shown that holds the alert's own window (an hour within a day …).
        start = window_start(_parse(alert["window_start"]), figures["window"])
        position = index.get(_iso(start))
        if position is None:
            if start < first:
                position = 0
            else:
                continue
        x = LEFT + step * (position + 0.5)
        parts.append(
            f'<path d="M{x - 6:.1f},{HEIGHT - 4} L{x + 6:.1f},{HEIGHT - 4} L{x:.1f},'
            f'{HEIGHT - 16}Z" class="alert-mark alert-{escape(alert["status"])}">'
            f"<title>{escape(alert['kind'])} alert ({escape(alert['status'])}): "
            f"estimate {alert['estimate']:.3f}, bound {alert['bound']:.3f}</title></path>"
        )
    parts.append(
        f'<text x="{LEFT}" y="{HEIGHT - 2}" class="tick">{escape(windows[0]["start"])}</text>'
        f'<text x="{WIDTH - RIGHT}" y="{HEIGHT - 2}" text-anchor="end" class="tick">'
        f"{escape(windows[-1]['start'])}</text></svg>"
    )
    return mark_safe("".join(parts))  # noqa: S308 - every inserted text is escaped


def calibration_chart(calibration: dict[str, Any]) -> SafeString:
    """Stated confidence (x) against observed accuracy (y) per bin, the diagonal for a
    calibrated model; a dot's area follows its labels."""
    size, pad = 240, 32
    inner = size - 2 * pad
    parts = [
        f'<svg class="monitor-chart calibration" viewBox="0 0 {size} {size}" role="img" '
        'aria-label="Calibration: stated confidence against observed accuracy" '
        'xmlns="http://www.w3.org/2000/svg">'
        f'<rect x="{pad}" y="{pad}" width="{inner}" height="{inner}" class="frame"/>'
        f'<line x1="{pad}" y1="{pad + inner}" x2="{pad + inner}" y2="{pad}" class="diagonal"/>'
        f'<text x="{size / 2}" y="{size - 6}" text-anchor="middle" class="tick">'
        "stated confidence</text>"
        f'<text x="10" y="{size / 2}" class="tick" transform="rotate(-90 10 {size / 2})" '
        'text-anchor="middle">observed accuracy</text>'
    ]
    total = calibration["labels"] or 1
    for row in calibration["bins"]:
        if not row["labels"]:
            continue
        x = pad + inner * row["confidence"]
        y = pad + inner * (1 - row["accuracy"])
        radius = 2 + 10 * (row["labels"] / total) ** 0.5
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{radius:.1f}" class="estimate">'
            f"<title>{row['from']:.1f}–{row['to']:.1f}: stated {row['confidence']:.3f}, "
            f"observed {row['accuracy']:.3f} of {row['labels']}</title></circle>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - numbers only
