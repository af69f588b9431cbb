"""The retry policy of Carnet's outboxes (notifications, shared health record pushes).

Exponential backoff, capped, with "equal jitter": the delay is a random half
to whole of the step, so messages that failed together (a server down for a
minute) do not come back together, and the cap is never exceeded. Both
outboxes take their first step and cap from their own settings; nothing
here knows a feature, and the jitter source is injectable so that tests
pin it (no wall clock is read: the caller adds the delay to its own `now`).
"""

import datetime as dt
import random
from typing import Protocol


class Jitter(Protocol):
    def uniform(self, low: float, high: float) -> float: ...


# Spreading retries needs no secret; the system source only spares a seed.
_random = random.SystemRandom()


def retry_delay(attempts: int, *, first_seconds: float, max_seconds: float, rng: Jitter = _random) -> dt.timedelta:
    """How long to wait after `attempts` failed attempts (1 for the first failure):
    `first_seconds` doubled at each further attempt, at most `max_seconds`, times a
    random factor between 0.5 and 1."""
    # Past 2**64 the cap has long been reached: no huge integers for a runaway count.
    step = min(max_seconds, first_seconds * 2 ** min(max(attempts - 1, 0), 64))
    return dt.timedelta(seconds=step * rng.uniform(0.5, 1.0))
