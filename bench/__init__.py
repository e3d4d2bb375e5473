"""The benchmark suite (`python -m bench --scale town --quick`); not part of the tests.

It seeds a scale into its own VILLAGEGRAPH_HOME, starts the service in a subprocess and
measures every case of bench.cases.CASES over HTTP (sequential p50/p99, throughput at
concurrency 10) and, in the same run, its floor: the same result by hand-written SQL
over asyncpg under the same RLS context (role vg_request, vg.begin_request in a
transaction), as the service does it.
"""
