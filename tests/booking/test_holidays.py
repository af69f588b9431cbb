"""Public holidays by the practice's postcode: Alsace-Moselle, overseas departments, the metropolitan rest."""

import datetime as dt

import pytest

from tests import factories
from tests.booking.factories import open_practice
from webapp.booking import availability
from webapp.booking.holidays import holiday_region, is_public_holiday, public_holidays

UTC = dt.UTC
GOOD_FRIDAY_2027 = dt.date(2027, 3, 26)


@pytest.mark.parametrize("postcode, region", [
    ("75011", None), ("20000", None), ("2A004", None), ("57000", "57"), ("67000", "6AE"), ("68100", "6AE"),
    ("97110", "971"), ("97200", "972"), ("97300", "973"), ("97400", "974"), ("97600", "976"), ("97500", "PM"),
    ("97133", "BL"), ("97150", "MF"), (" 67 000 ", "6AE"), ("", None), (None, None),
])
def test_holiday_region_follows_the_postcode(postcode, region):
    assert holiday_region(postcode) == region


def test_local_holidays_add_to_the_national_ones():
    paris, strasbourg, reunion = (public_holidays(code, [2026, 2027]) for code in ("75011", "67000", "97400"))
    assert dt.date(2026, 12, 25) in paris and paris < strasbourg and paris < reunion
    assert strasbourg - paris == {dt.date(2026, 4, 3), dt.date(2026, 12, 26), GOOD_FRIDAY_2027,
                                  dt.date(2027, 12, 26)}
    assert reunion - paris == {dt.date(2026, 12, 20), dt.date(2027, 12, 20)}
    assert public_holidays("20000", [2026]) == public_holidays("75011", [2026])  # Corsica
    assert is_public_holiday(dt.date(2026, 12, 26), "6AE") and not is_public_holiday(dt.date(2026, 12, 26))


def practice_in(postcode: str, city: str, **schedule):
    return open_practice(factories.make_practitioner(postcode=postcode, city=city), closed_on_public_holidays=True,
                         **schedule)


def slots_on(practice, day: dt.date) -> list:
    practitioner, reason = practice
    return availability.available_slots(practitioner.id, reason.id, day, day)


def test_a_strasbourg_practice_is_closed_on_26_december_and_good_friday_a_paris_one_is_not(app, frozen_clock):
    strasbourg, paris = practice_in("67000", "Strasbourg"), practice_in("75011", "Paris")
    frozen_clock.set(dt.datetime(2026, 12, 1, 8, tzinfo=UTC))
    assert slots_on(strasbourg, dt.date(2026, 12, 26)) == []
    assert slots_on(paris, dt.date(2026, 12, 26))
    assert slots_on(strasbourg, dt.date(2026, 12, 24)) and slots_on(paris, dt.date(2026, 12, 25)) == []
    frozen_clock.set(dt.datetime(2027, 3, 1, 8, tzinfo=UTC))
    assert GOOD_FRIDAY_2027.weekday() == 4
    assert slots_on(strasbourg, GOOD_FRIDAY_2027) == []
    assert slots_on(paris, GOOD_FRIDAY_2027)


def test_a_la_reunion_practice_is_closed_on_20_december_a_corsican_one_is_not(app, frozen_clock):
    reunion = practice_in("97400", "Saint-Denis", timezone="Indian/Reunion")
    corsica = practice_in("20000", "Ajaccio")
    frozen_clock.set(dt.datetime(2026, 12, 1, 8, tzinfo=UTC))
    assert slots_on(reunion, dt.date(2026, 12, 20)) == []
    assert slots_on(reunion, dt.date(2026, 12, 21)) and slots_on(corsica, dt.date(2026, 12, 20))
    assert slots_on(corsica, dt.date(2026, 12, 26))


def test_the_practitioner_may_still_open_on_local_holidays(app, frozen_clock):
    strasbourg = open_practice(factories.make_practitioner(postcode="67000", city="Strasbourg"))
    frozen_clock.set(dt.datetime(2026, 12, 1, 8, tzinfo=UTC))
    assert slots_on(strasbourg, dt.date(2026, 12, 26))
