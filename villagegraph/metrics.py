"""Prometheus text exposition of the service's own counters, without a client library."""

from __future__ import annotations

import bisect
from collections import Counter
from typing import Any

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        self.latency_buckets = [0] * (len(BUCKETS) + 1)
        self.latency_sum = 0.0
        self.latency_count = 0

    def count_request(self, status: str) -> None:
        self.requests[status] += 1

    def observe_latency(self, seconds: float) -> None:
        self.latency_buckets[bisect.bisect_left(BUCKETS, seconds)] += 1
        self.latency_sum += seconds
        self.latency_count += 1

    def render(self, pool: Any = None) -> str:
        lines = [
            "# HELP villagegraph_http_requests_total HTTP requests by response status.",
            "# TYPE villagegraph_http_requests_total counter",
        ]
        for status, count in sorted(self.requests.items()):
            lines.append(f'villagegraph_http_requests_total{{status="{status}"}} {count}')
        lines += [
            "# HELP villagegraph_http_request_seconds Request latency.",
            "# TYPE villagegraph_http_request_seconds histogram",
        ]
        cumulative = 0
        for bound, count in zip(BUCKETS, self.latency_buckets, strict=False):
            cumulative += count
            lines.append(f'villagegraph_http_request_seconds_bucket{{le="{bound}"}} {cumulative}')
        lines.append(f'villagegraph_http_request_seconds_bucket{{le="+Inf"}} {self.latency_count}')
        lines.append(f"villagegraph_http_request_seconds_sum {self.latency_sum}")
        lines.append(f"villagegraph_http_request_seconds_count {self.latency_count}")
        if pool is not None:
            lines += [
                "# HELP villagegraph_db_pool_connections Connections in the request pool.",
                "# TYPE villagegraph_db_pool_connections gauge",
                f'villagegraph_db_pool_connections{{state="open"}} {pool.get_size()}',
                f'villagegraph_db_pool_connections{{state="idle"}} {pool.get_idle_size()}',
            ]
        return "\n".join(lines) + "\n"
