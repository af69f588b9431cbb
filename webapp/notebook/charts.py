"""Measurement charts: the geometry of small server-rendered SVG line charts.

The template draws them (role="img", a title and a description naming the
values) and always follows them with the table of the same values. A chart
is drawn in the unit its entries use (`kinds.chart_unit`); values entered in
another unit of the same measurement are converted, and the description says so.
"""

import datetime as dt
from dataclasses import dataclass, field

from flask_babel import format_date
from flask_babel import lazy_gettext as _l

from webapp.notebook.formats import decimals, medium_datetimes
from webapp.notebook.kinds import CHART_LABELS, MEASUREMENT_TYPES, chart_unit, convert

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 16, 40
TICKS = 4


@dataclass
class ChartPoint:
    at: dt.datetime
    value: float
    x: float = 0
    y: float = 0


@dataclass
class ChartSeries:
    measurement_type: str
    label: str
    points: list[ChartPoint] = field(default_factory=list)

    @property
    def polyline(self) -> str:
        return " ".join(f"{point.x:.1f},{point.y:.1f}" for point in self.points)


@dataclass
class Chart:
    key: str
    title: str
    unit: str
    note: str  # says which values were converted to `unit`, if any
    description: str
    series: list[ChartSeries]
    rows: list[dict]
    y_ticks: list[tuple[float, str]]
    x_labels: list[tuple[float, str]]
    width: int = WIDTH
    height: int = HEIGHT
    plot_left: int = LEFT
    plot_right: int = WIDTH - RIGHT
    plot_bottom: int = HEIGHT - BOTTOM


def _scale(value: float, low: float, high: float, out_low: float, out_high: float) -> float:
    if high == low:
        return (out_low + out_high) / 2
    return out_low + (value - low) * (out_high - out_low) / (high - low)


def _chart(key: str, points: list[dict]) -> Chart:
    unit = chart_unit(points)
    decimal = decimals()
    by_type: dict[str, ChartSeries] = {}
    for point in points:
        series = by_type.setdefault(point["type"], ChartSeries(
            point["type"], str(MEASUREMENT_TYPES[point["type"]].label)))
        series.points.append(ChartPoint(point["at"], round(convert(point["type"], point["value"], point["unit"],
                                                                   unit), 2)))
    values = [p.value for series in by_type.values() for p in series.points]
    times = [p.at.timestamp() for series in by_type.values() for p in series.points]
    # Padding and tick precision follow the size of the values: glucose in g/L is around 1.
    magnitude = max(abs(value) for value in values) or 1
    padding = max((max(values) - min(values)) * 0.1, magnitude * 0.05)
    low, high = min(values) - padding, max(values) + padding
    precision = 2 if high - low < 2 else 1
    first, last = min(times), max(times)
    for series in by_type.values():
        for p in series.points:
            p.x = _scale(p.at.timestamp(), first, last, LEFT, WIDTH - RIGHT)
            p.y = _scale(p.value, low, high, HEIGHT - BOTTOM, TOP)
    y_ticks = [(_scale(value, low, high, HEIGHT - BOTTOM, TOP), decimal(round(value, precision)))
               for value in (low + index * (high - low) / TICKS for index in range(TICKS + 1))]
    first_at, last_at = min(p["at"] for p in points), max(p["at"] for p in points)
    x_labels = [(LEFT, format_date(first_at, "short"))]
    if last_at != first_at:
        x_labels.append((WIDTH - RIGHT, format_date(last_at, "short")))
    summaries = [
        str(_l("%(label)s: %(count)s values from %(first)s to %(last)s, latest %(latest)s.",
               label=series.label, count=len(series.points), first=format_date(series.points[0].at, "long"),
               last=format_date(series.points[-1].at, "long"),
               latest=f"{decimal(series.points[-1].value)} {unit}"))
        for series in by_type.values()
    ]
    converted = sorted({p["unit"] for p in points} - {unit})
    note = str(_l("Values entered in %(units)s are converted to %(unit)s.", units=", ".join(converted),
                  unit=unit)) if converted else ""
    if note:
        summaries.append(note)
    labels = {series.measurement_type: series.label for series in by_type.values()}
    medium_datetime = medium_datetimes()
    rows = [{"at": medium_datetime(p["at"]), "label": labels[p["type"]],
             "value": f"{decimal(p['value'])} {p['unit']}"} for p in points]
    return Chart(key=key, title=f"{CHART_LABELS[key]} ({unit})", unit=unit, note=note, description=" ".join(summaries),
                 series=list(by_type.values()), rows=rows, y_ticks=y_ticks, x_labels=x_labels)


def build_charts(points: list[dict], *, latest: int | None = None) -> list[Chart]:
    """One chart per measurement group that has values, points sorted by time;
    with `latest`, only the latest that many points of each group."""
    groups: dict[str, list[dict]] = {key: [] for key in CHART_LABELS}
    for point in sorted(points, key=lambda item: item["at"]):
        groups[MEASUREMENT_TYPES[point["type"]].chart].append(point)
    return [_chart(key, group[-latest:] if latest else group) for key, group in groups.items() if group]
