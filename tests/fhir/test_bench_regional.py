"""B6 at the benchmark's smallest size, so that it never rots (nothing here is about speed)."""

import random

from bench.regional import regional_workload
from bench.workloads import SIZES


def test_regional_workload_checks_every_answer(app):
    [result] = regional_workload(app, SIZES["tiny"], random.Random(6))
    assert result.name.startswith("B6 regional Slot search") and len(result.durations) == SIZES["tiny"].runs
    assert result.extra["mean_slots"] > 0 and result.extra["queries"] == 2
