"""Timing: run a callable after a warm-up and summarise the durations."""

import statistics
import time
from dataclasses import dataclass, field

import sqlalchemy as sa


@dataclass
class Result:
    """One workload's figures; `target` is the issue's goal, for the table."""

    name: str
    database: str
    durations: list[float] = field(default_factory=list)  # seconds, one per operation
    target: str = ""
    extra: dict = field(default_factory=dict)
    throughput: float | None = None  # operations per second, when measured as a whole run

    @property
    def median_ms(self) -> float | None:
        return statistics.median(self.durations) * 1000 if self.durations else None

    @property
    def p95_ms(self) -> float | None:
        if not self.durations:
            return None
        ordered = sorted(self.durations)
        return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))] * 1000

    @property
    def ops_per_second(self) -> float | None:
        if self.throughput is not None:
            return self.throughput
        return len(self.durations) / sum(self.durations) if self.durations else None

    def as_dict(self) -> dict:
        def rounded(value):
            return None if value is None else round(value, 3)

        return {"name": self.name, "database": self.database, "count": len(self.durations),
                "median_ms": rounded(self.median_ms), "p95_ms": rounded(self.p95_ms),
                "per_second": rounded(self.ops_per_second), "target": self.target, **self.extra}


def timed(operation, *, runs: int, warmup: int) -> tuple[list[float], object]:
    """Durations of `runs` calls of `operation()` after `warmup` untimed ones; the last return value."""
    value = None
    for _ in range(warmup):
        value = operation()
    durations = []
    for _ in range(runs):
        started = time.perf_counter()
        value = operation()
        durations.append(time.perf_counter() - started)
    return durations, value


def count_statements(engine, operation) -> tuple[int, object]:
    """How many SQL statements one call of `operation()` sends through `engine`; its return value."""
    statements = 0

    def counted(*_):
        nonlocal statements
        statements += 1

    sa.event.listen(engine, "before_cursor_execute", counted)
    try:
        value = operation()
    finally:
        sa.event.remove(engine, "before_cursor_execute", counted)
    return statements, value
