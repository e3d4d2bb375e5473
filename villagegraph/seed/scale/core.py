"""What every scale generator shares: the scale, the run, the progress bar and SQL helpers.

Ids are explicit (a village's ordinal times a fixed slot count), so they do not depend on
the order rows are written in. This module must not be imported by the service.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import asyncpg

CITY = 330300000000


SCALE_END = datetime(2026, 11, 1, 9, 0, tzinfo=timezone(timedelta(hours=8)))


SPAN_DAYS = 730  # two years of content


BENCH_PASSWORD = "bench"


@dataclass(frozen=True)
class Scale:
    name: str
    root: int  # villages are generated under the towns of this unit's subtree
    villages_total: int  # villages in the whole city at this density (3,634)
    residents_mean: int = 2640  # per village: ≈ 9.6 M over 3,634
    notice_share: float = 1.0  # multiplies NOTICES_PER_UNIT
    towns_limit: int | None = None  # tests restrict a scale to a few towns
    villages_per_town_limit: int | None = None


SCALES = {
    "town": Scale("town", 330302006000, 3634),  # 五马街道
    "county": Scale("county", 330302000000, 3634),  # 鹿城区
    "wenzhou": Scale("wenzhou", CITY, 3634),
}


@dataclass
class Progress:
    """A one-line progress bar on stderr: step name, share done, elapsed time."""

    total_steps: int
    out: object = sys.stderr
    started: float = field(default_factory=time.monotonic)
    done: float = 0.0

    def advance(self, step: str, amount: float = 1.0) -> None:
        self.done += amount
        share = min(1.0, self.done / max(self.total_steps, 1))
        bar = "#" * int(share * 30)
        elapsed = time.monotonic() - self.started
        line = f"\r[{bar:<30}] {share:6.1%} {elapsed:7.1f}s  {step:<40}"
        print(line, end="", file=self.out, flush=True)  # type: ignore[call-overload]

    def finish(self) -> None:
        print(file=self.out, flush=True)  # type: ignore[call-overload]


@dataclass
class ScaleRun:
    conn: asyncpg.Connection
    scale: Scale
    progress: Progress
    timings: dict[str, float] = field(default_factory=dict)


ScaleGenerator = Callable[[ScaleRun], Awaitable[None]]


def sql_hash(expr: str, salt: int) -> str:
    """A deterministic, well-mixed non-negative integer from an integer SQL expression."""
    return f"((({expr}) * 2654435761 + {salt}) % 1000000007)"


async def chunked(run: ScaleRun, label: str, sql: str, table: str = "scale_villages") -> None:
    """Run `sql` (with $1/$2 bounding `ordinal`) over the villages in ~20 chunks."""
    total = await run.conn.fetchval(f"select count(*) from {table}")
    chunk = max(1, -(-total // 20))
    steps = -(-total // chunk)
    for start in range(0, total, chunk):
        await run.conn.execute(sql, start, start + chunk - 1)
        run.progress.advance(f"{label} {min(start + chunk, total)}/{total}", 1 / steps)


def sql_array(values: tuple[str, ...]) -> str:
    return "array[" + ", ".join(f"'{v}'" for v in values) + "]"


def sql_pick(values: tuple[str, ...], hashed: str) -> str:
    return f"({sql_array(values)})[({hashed} % {len(values)})::int + 1]"
