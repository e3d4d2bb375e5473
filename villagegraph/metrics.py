"""Prometheus text exposition of the service's own counters, without a client library.

HTTP requests by status and their latency; GraphQL operations by name and outcome (the
first error code, or `ok`) with a latency histogram per operation; the request pool's
connections; the outbox depth by status (read at scrape time through
vg.outbox_depth(), a security-definer function, since the request role cannot see the
outbox). Operation names are client-chosen, so at most MAX_OPERATIONS distinct names are
kept; the rest are counted as `other`.
"""

from __future__ import annotations

import bisect
import re
from collections import Counter
from collections.abc import Iterable
from typing import Any

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
MAX_OPERATIONS = 200
_NAME = re.compile(r"^[_A-Za-z][_0-9A-Za-z]{0,63}$")


class Histogram:
    def __init__(self) -> None:
        self.buckets = [0] * (len(BUCKETS) + 1)
        self.sum = 0.0
        self.count = 0

    def observe(self, seconds: float) -> None:
        self.buckets[bisect.bisect_left(BUCKETS, seconds)] += 1
        self.sum += seconds
        self.count += 1

    def lines(self, name: str, labels: str = "") -> Iterable[str]:
        prefix = labels + "," if labels else ""
        cumulative = 0
        for bound, count in zip(BUCKETS, self.buckets, strict=False):
            cumulative += count
            yield f'{name}_bucket{{{prefix}le="{bound}"}} {cumulative}'
        yield f'{name}_bucket{{{prefix}le="+Inf"}} {self.count}'
        suffix = "{" + labels + "}" if labels else ""
        yield f"{name}_sum{suffix} {self.sum}"
        yield f"{name}_count{suffix} {self.count}"


class Metrics:
    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        self.latency = Histogram()
        self.operations: Counter[tuple[str, str]] = Counter()
        self.operation_latency: dict[str, Histogram] = {}

    def count_request(self, status: str) -> None:
        self.requests[status] += 1

    def observe_latency(self, seconds: float) -> None:
        self.latency.observe(seconds)

    def observe_operation(self, name: str | None, outcome: str, seconds: float) -> None:
        label = name if name and _NAME.match(name) else "anonymous"
        if label not in self.operation_latency and len(self.operation_latency) >= MAX_OPERATIONS:
            label = "other"
        self.operations[(label, outcome if _NAME.match(outcome) else "ERROR")] += 1
        self.operation_latency.setdefault(label, Histogram()).observe(seconds)

    def render(self, pool: Any = None, outbox: dict[str, int] | None = None) -> str:
        lines = [
            "# HELP villagegraph_http_requests_total HTTP requests by response status.",
            "# TYPE villagegraph_http_requests_total counter",
        ]
        for status, count in sorted(self.requests.items()):
            lines.append(f'villagegraph_http_requests_total{{status="{status}"}} {count}')
        lines += [
            "# HELP villagegraph_http_request_seconds Request latency.",
            "# TYPE villagegraph_http_request_seconds histogram",
            *self.latency.lines("villagegraph_http_request_seconds"),
            "# HELP villagegraph_graphql_operations_total GraphQL operations by name and outcome.",
            "# TYPE villagegraph_graphql_operations_total counter",
        ]
        for (name, outcome), count in sorted(self.operations.items()):
            lines.append(
                f'villagegraph_graphql_operations_total{{operation="{name}",outcome="{outcome}"}}'
                f" {count}"
            )
        lines += [
            "# HELP villagegraph_graphql_operation_seconds GraphQL operation latency.",
            "# TYPE villagegraph_graphql_operation_seconds histogram",
        ]
        for name, histogram in sorted(self.operation_latency.items()):
            lines += histogram.lines(
                "villagegraph_graphql_operation_seconds", f'operation="{name}"'
            )
        if pool is not None:
            lines += [
                "# HELP villagegraph_db_pool_connections Connections in the request pool.",
                "# TYPE villagegraph_db_pool_connections gauge",
                f'villagegraph_db_pool_connections{{state="open"}} {pool.get_size()}',
                f'villagegraph_db_pool_connections{{state="idle"}} {pool.get_idle_size()}',
                f'villagegraph_db_pool_connections{{state="max"}} {pool.get_max_size()}',
            ]
        if outbox is not None:
            lines += [
                "# HELP villagegraph_outbox_messages Outbox messages by delivery status.",
                "# TYPE villagegraph_outbox_messages gauge",
            ]
            for status in ("PENDING", "SENT", "DEAD"):
                lines.append(
                    f'villagegraph_outbox_messages{{status="{status}"}} {outbox.get(status, 0)}'
                )
        return "\n".join(lines) + "\n"
