"""Measurement charts: grouping, scaling inside the plot area, conversions and text alternatives."""

import datetime as dt

from webapp.notebook.charts import BOTTOM, HEIGHT, LEFT, RIGHT, TOP, WIDTH, build_charts

T0 = dt.datetime(2025, 1, 1, 8, tzinfo=dt.UTC)


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


def test_glucose_chart_uses_the_unit_of_the_entries(app):
    with app.test_request_context():
        [grams] = build_charts([_point("glucose", 0.95, "g/L", 0), _point("glucose", 1.2, "g/L", 1)])
        [millimoles] = build_charts([_point("glucose", 5.4, "mmol/L", 0), _point("glucose", 6.0, "mmol/L", 1)])
    assert grams.unit == "g/L" and grams.title == "Glycémie (g/L)" and grams.note == ""
    assert [point.value for point in grams.series[0].points] == [0.95, 1.2]
    assert "dernière 1,2 g/L" in grams.description
    # Values around 1 get ticks with two decimals, not a 0-to-3 axis.
    assert all("," in label for _, label in grams.y_ticks)
    assert millimoles.unit == "mmol/L" and millimoles.title == "Glycémie (mmol/L)"


def test_mixed_glucose_units_are_converted_to_the_one_most_entries_use(app):
    with app.test_request_context():
        [chart] = build_charts([_point("glucose", 1.0, "g/L", 0), _point("glucose", 6.0, "mmol/L", 1),
                                _point("glucose", 1.1, "g/L", 2)])
        [tie] = build_charts([_point("glucose", 1.0, "g/L", 0), _point("glucose", 6.0, "mmol/L", 1)])
    assert chart.unit == "g/L" and chart.title == "Glycémie (g/L)"
    assert [point.value for point in chart.series[0].points] == [1.0, 1.08, 1.1]
    assert chart.note == "Les valeurs saisies en mmol/L sont converties en g/L."
    assert chart.note in chart.description
    # The table lists the values as they were entered.
    assert [row["value"] for row in chart.rows] == ["1 g/L", "6 mmol/L", "1,1 g/L"]
    # On a tie, the unit of the latest entry.
    assert tie.unit == "mmol/L" and [point.value for point in tie.series[0].points] == [5.55, 6.0]


def test_chart_page_names_the_unit_and_the_conversion(client, world, login):
    from tests.notebook.factories import make_measurement

    make_measurement(world.patient, "glucose", 1.02, "g/L", days_ago=3)
    make_measurement(world.patient, "glucose", 6.1, "mmol/L", days_ago=2)
    make_measurement(world.patient, "glucose", 0.98, "g/L", days_ago=1)
    login(world.users["patient"])
    page = client.get(f"/patients/{world.patient.id}/notebook/measurements").get_data(as_text=True)
    assert "<h3>Glycémie (g/L)</h3>" in page
    assert "Les valeurs saisies en mmol/L sont converties en g/L." in page


def test_no_measurements_no_charts(app):
    with app.test_request_context():
        assert build_charts([]) == []
