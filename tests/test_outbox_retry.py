"""The outboxes' shared retry policy: exponential, capped, jittered by an injected source."""

import datetime as dt
import random

import pytest

from webapp.outbox_retry import retry_delay


class Fixed:
    """A jitter source that always answers the same point of the interval (0: low end, 1: high end)."""

    def __init__(self, point: float):
        self.point = point

    def uniform(self, low: float, high: float) -> float:
        return low + (high - low) * self.point


def seconds(attempts: int, point: float, *, first: float = 60, cap: float = 3600) -> float:
    return retry_delay(attempts, first_seconds=first, max_seconds=cap, rng=Fixed(point)).total_seconds()


def test_the_step_doubles_from_the_first_delay_up_to_the_cap():
    assert [seconds(attempt, 1.0) for attempt in range(1, 9)] == [60, 120, 240, 480, 960, 1920, 3600, 3600]


def test_jitter_takes_half_to_whole_of_the_step():
    assert [seconds(attempt, 0.0) for attempt in range(1, 9)] == [30, 60, 120, 240, 480, 960, 1800, 1800]
    assert seconds(3, 0.5) == 180


@pytest.mark.parametrize("attempts", [1, 5, 40, 10_000])
def test_the_cap_is_never_exceeded_whatever_the_count(attempts):
    rng = random.Random(attempts)  # nosec B311  # a reproducible jitter source for the test
    for _ in range(50):
        delay = retry_delay(attempts, first_seconds=60, max_seconds=6 * 3600, rng=rng)
        assert dt.timedelta(0) < delay <= dt.timedelta(hours=6)


def test_a_count_below_one_waits_the_first_step():
    assert seconds(0, 1.0) == 60


def test_the_default_source_spreads_retries_that_failed_together():
    delays = {retry_delay(2, first_seconds=60, max_seconds=3600) for _ in range(20)}
    assert len(delays) > 1 and all(dt.timedelta(seconds=60) <= delay <= dt.timedelta(seconds=120) for delay in delays)
