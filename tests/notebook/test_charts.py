"""Measurement charts: grouping, scaling inside the plot area, conversions and text alternatives."""

import datetime as dt

from webapp.notebook.charts import HEIGHT, LEFT, RIGHT, TOP, WIDTH, BOTTOM, build_charts

T0 = dt.datetime(2025, 1, 1, 8, tzinfo=dt.timezone.utc)


def _point(measurement_type, value, unit, days):
    return {"type": measurement_type, "value": value, "unit": unit, "at": T0 + dt.timedelta(days=days), "entry_id": 1}


def test_blood_pressure_is_one_chart_with_two_series(app):
    points = [_point("blood_pressure_systolic", 150 - day, "mmHg", day) for day in range(3)] + [
        _point("blood_pressure_diastolic", 95 - day, "mmHg", day) for day in range(3)] + [
        _point("weight", 80, "kg", 1)]
    with app.test_request_context():
        charts = build_charts(points)
    assert [chart.key for chart in charts] == ["blood_pressure", "weight"]
    pressure = charts[0]
    assert [series.measurement_type for series in pressure.series] == [
        "blood_pressure_systolic", "blood_pressure_diastolic"]
    for series in pressure.series:
        for point in series.points:
            assert LEFT <= point.x <= WIDTH - RIGHT and TOP <= point.y <= HEIGHT - BOTTOM
    systolic = pressure.series[0].points
    assert systolic[0].x == LEFT and systolic[-1].x == WIDTH - RIGHT
    assert systolic[0].y < systolic[-1].y  # higher values are drawn higher up
    assert len(pressure.rows) == 6 and "150" in pressure.rows[0]["value"]
    assert "3" in pressure.description and "Pression artérielle systolique" in pressure.description
    single = charts[1]
    assert single.series[0].points[0].x == (LEFT + WIDTH - RIGHT) / 2


def test_glucose_in_grams_is_drawn_in_millimoles_and_listed_as_entered(app):
    with app.test_request_context():
        [chart] = build_charts([_point("glucose", 1.0, "g/L", 0), _point("glucose", 6.0, "mmol/L", 1)])
    assert [point.value for point in chart.series[0].points] == [5.55, 6.0]
    assert chart.rows[0]["value"] == "1 g/L"


def test_no_measurements_no_charts(app):
    with app.test_request_context():
        assert build_charts([]) == []
