"""Run the benchmark: seed, start the service, measure every case and its floor, report.

`python -m bench --scale town --quick` (minutes) or `--scale wenzhou` (the full run).
Each scale lives in its own home (./.villagegraph-bench/<scale> unless --home), seeded on
first use. Results: a table on stdout and bench/results/latest.json (and <scale>.json).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import psutil

from bench.cases import CASES, BenchEnv, Case
from bench.http import GraphQLConnection
from villagegraph import migrations
from villagegraph.config import Settings
from villagegraph.database import Database, create_request_pool, resolve_database
from villagegraph.limits import TIERS
from villagegraph.seed.scale import SCALES, seed_scale
from villagegraph.tenants.auth import TokenService

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
CONCURRENCY = 10


@dataclasses.dataclass(frozen=True)
class Budget:
    sequential: int  # requests measured one after another
    seconds: float  # upper bound on each sequential run
    load_seconds: float  # duration of each concurrency-10 run
    repeat: int


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def sequential(call: Callable[[int], Awaitable[Any]], budget: Budget, n: int) -> list[float]:
    for i in range(min(10, n // 2)):  # warm caches and connections
        await call(i)
    latencies: list[float] = []
    deadline = time.perf_counter() + budget.seconds
    for i in range(n):
        began = time.perf_counter()
        await call(i)
        latencies.append((time.perf_counter() - began) * 1000)
        if time.perf_counter() > deadline and len(latencies) >= min(5, n):
            break
    return latencies


async def throughput(
    calls: list[Callable[[int], Awaitable[Any]]], seconds: float, minimum: int = 10
) -> tuple[float, int]:
    """Requests per second with one loop per call (concurrency = len(calls)), and requests."""
    done = 0
    deadline = time.perf_counter() + seconds

    async def worker(call: Callable[[int], Awaitable[Any]], offset: int) -> None:
        nonlocal done
        i = offset
        while time.perf_counter() < deadline or done < minimum:
            await call(i)
            done += 1
            i += len(calls)

    began = time.perf_counter()
    await asyncio.gather(*(worker(call, k) for k, call in enumerate(calls)))
    return done / (time.perf_counter() - began), done


def cpu_seconds(process: psutil.Process) -> float:
    """User + system CPU of the service and its workers so far."""
    total = 0.0
    for p in [process, *process.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            times = p.cpu_times()
            total += times.user + times.system
    return total


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_service(
    home: Path, port: int, workers: int, profile: str | None
) -> subprocess.Popen[bytes]:
    """The service in a subprocess; under `py-spy record` (speedscope JSON) with --profile."""
    env = dict(os.environ, VILLAGEGRAPH_HOME=str(home), PYTHONPATH=str(ROOT))
    # The benchmark measures the service, not its per-principal rate limiter: a handful of
    # benchmark principals send thousands of requests a second. Document limits stay.
    unlimited = {"rate_per_minute": 10**9, "burst": 10**9}
    env["VILLAGEGRAPH_LIMITS"] = json.dumps({tier: unlimited for tier in TIERS})
    env.pop("VILLAGEGRAPH_DATABASE_URL", None)
    command = [sys.executable, "-m", "bench.serve", "--port", str(port)]
    command += ["--workers", str(workers)]
    if profile:
        spy = Path(sys.executable).with_name("py-spy")
        record = [str(spy), "record", "-r", "250", "-f", "speedscope", "-o", profile]
        command = record + ["--subprocesses", "--"] + command
    return subprocess.Popen(command, cwd=ROOT, env=env)


async def wait_healthy(port: int, process: subprocess.Popen[bytes]) -> None:
    for _ in range(600):
        if process.poll() is not None:
            raise RuntimeError("the service exited during start-up")
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /health HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
            status = await reader.readline()
            writer.close()
            if b" 200 " in status:
                return
        except OSError:
            pass
        await asyncio.sleep(0.1)
    raise RuntimeError("the service did not become healthy")


async def load_env(conn: asyncpg.Connection, settings: Settings) -> BenchEnv:
    residents = [
        (row["id"], row["resident_village"])
        for row in await conn.fetch(
            """select id, resident_village from vg.accounts where resident_id is not null
                order by (id * 2654435761) % 1000003 limit 400"""
        )
    ]
    officials = {}
    for level in ("CITY", "COUNTY", "TOWN"):
        row = await conn.fetchrow(
            """select g.account_id, g.unit_code from vg.grants g
                 join vg.org_units u on u.code = g.unit_code
                where g.role = 'OFFICIAL' and u.level = $1
                  and exists (select 1 from vg.org_units v
                               where v.level = 'VILLAGE' and v.code between u.code and u.subtree_end)
                order by g.unit_code limit 1""",
            level,
        )
        assert row is not None, f"no {level} official: seed a scale first"
        officials[level] = (row["account_id"], row["unit_code"])
    official_pool = {
        level: [
            (row["account_id"], row["unit_code"])
            for row in await conn.fetch(
                """select g.account_id, g.unit_code from vg.grants g
                     join vg.org_units u on u.code = g.unit_code
                    where g.role = 'OFFICIAL' and u.level = $1
                      and exists (select 1 from vg.org_units v where v.level = 'VILLAGE'
                                     and v.code between u.code and u.subtree_end)
                    order by hashint8(g.unit_code), g.unit_code limit 20""",
                level,
            )
        ]
        for level in ("CITY", "COUNTY", "TOWN")
    }
    analyst = await conn.fetchval("select account_id from vg.grants where role = 'ANALYST'")
    # One database session per account any case may act as (cases pick cadres, officials
    # and residents of their own), opened as the login path would (the admin may).
    sessions = {
        row["account"]: row["session"]
        for row in await conn.fetch(
            "select a.id as account, vg.open_session(a.id) as session from vg.accounts a"
        )
    }
    env = BenchEnv(
        tokens=TokenService(settings),
        residents=residents,
        officials=officials,
        analyst=analyst,
        city=officials["CITY"][1],
        sessions=sessions,
        official_pool=official_pool,
    )
    env.prepared["settings"] = settings  # the recorded floors execute the schema in process
    return env


def machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_start": os.getloadavg(),
    }


async def scale_facts(conn: asyncpg.Connection, name: str) -> dict[str, Any]:
    rows = await conn.fetch(
        """select relname, greatest(reltuples, 0)::bigint as rows from pg_class
            where relnamespace = 'vg'::regnamespace and relkind = 'r' order by relname"""
    )
    return {
        "name": name,
        "rows": {row["relname"]: row["rows"] for row in rows},
        "database_mb": round(
            await conn.fetchval("select pg_database_size(current_database())") / 2**20
        ),
        "postgres": await conn.fetchval("show server_version"),
    }


async def measure_case(
    case: Case,
    env: BenchEnv,
    port: int,
    pool: asyncpg.Pool,
    budget: Budget,
    service: psutil.Process,
) -> dict[str, Any]:
    n = 3 if case.heavy else budget.sequential
    http = [GraphQLConnection("127.0.0.1", port) for _ in range(CONCURRENCY)]

    def gql(k: int) -> Callable[[int], Awaitable[Any]]:
        return lambda i: case.graphql(http[k], env, i)

    def floor(i: int) -> Awaitable[Any]:
        return case.floor(pool, env, i)

    runs: list[dict[str, float]] = []
    try:
        # A heavy case (seconds per request) runs once, each load worker finishing one.
        for _ in range(1 if case.heavy else budget.repeat):
            latencies = await sequential(gql(0), budget, n)
            minimum = CONCURRENCY if case.heavy else 10
            load = 0.0 if case.heavy else budget.load_seconds
            cpu_before = cpu_seconds(service)
            rps, requests = await throughput([gql(k) for k in range(CONCURRENCY)], load, minimum)
            service_cpu_ms = (cpu_seconds(service) - cpu_before) * 1000 / requests
            floor_latencies = await sequential(floor, budget, n)
            floor_rps, _ = await throughput([floor] * CONCURRENCY, load, minimum)
            runs.append(
                {
                    "p50_ms": statistics.median(latencies),
                    "p99_ms": _percentile(latencies, 0.99),
                    "rps": rps,
                    "floor_p50_ms": statistics.median(floor_latencies),
                    "floor_rps": floor_rps,
                    # Python CPU per request: what contention on a shared machine hides.
                    "service_cpu_ms": service_cpu_ms,
                    "samples": len(latencies),
                }
            )
    finally:
        for connection in http:
            await connection.close()
    result: dict[str, Any] = {"name": case.name}
    for key in runs[0]:
        result[key] = round(statistics.median(run[key] for run in runs), 3)
    result["ratio"] = round(result["p50_ms"] / result["floor_p50_ms"], 2)
    result["repeats"] = len(runs)
    return result


def table(cases: list[dict[str, Any]]) -> str:
    header = f"{'case':<26} {'GraphQL p50':>11} {'p99':>8} {'floor p50':>10} {'ratio':>6} {'req/s':>8} {'floor req/s':>11} {'CPU/req':>8}"
    lines = [header, "-" * len(header)]
    for c in cases:
        if "skipped" in c or "failed" in c:
            reason = f"skipped: {c['skipped']}" if "skipped" in c else f"failed: {c['failed']}"
            lines.append(f"{c['name']:<26} {reason}")
            continue
        lines.append(
            f"{c['name']:<26} {c['p50_ms']:>9.2f}ms {c['p99_ms']:>6.1f}ms {c['floor_p50_ms']:>8.2f}ms"
            f" {c['ratio']:>6.2f} {c['rps']:>8.0f} {c['floor_rps']:>11.0f}"
            f" {c['service_cpu_ms']:>6.2f}ms"
        )
    return "\n".join(lines)


async def run(args: argparse.Namespace, home: Path) -> int:
    started_on = machine()
    settings = Settings.from_env({"VILLAGEGRAPH_HOME": str(home)})
    settings = dataclasses.replace(settings, pool_min_size=CONCURRENCY, pool_max_size=CONCURRENCY)
    began = time.monotonic()
    db: Database = await resolve_database(settings)
    await asyncio.to_thread(migrations.upgrade, db)
    summary = await seed_scale(db.url("owner"), SCALES[args.scale])
    if summary is not None:
        print(summary.text())
    seeding = time.monotonic() - began

    budget = (
        Budget(sequential=200, seconds=4, load_seconds=3, repeat=args.repeat or 1)
        if args.quick
        else Budget(sequential=1000, seconds=15, load_seconds=10, repeat=args.repeat or 3)
    )
    selected = [c for c in CASES if not args.cases or c.name in args.cases]
    postgraphile = None
    if args.postgraphile:
        from bench import postgraphile_case

        port = _free_port()
        postgraphile = postgraphile_case.start(port, db.url("request"))
        await wait_healthy(port, postgraphile)
        selected.append(postgraphile_case.feed_case(port))
    runs: dict[int, list[dict[str, Any]]] = {}
    rss_max: dict[int, float] = {}
    try:
        env, facts, tables = await _prepare(db, settings, args.scale, selected)
        for workers in args.workers:  # the same data, one service start per worker count
            results, rss = await _measure_all(
                args, workers, home, db, settings, selected, env, tables, budget
            )
            runs[workers] = results
            rss_max[workers] = round(max(rss, default=0) / 2**20, 1)
    finally:
        if postgraphile is not None:
            postgraphile.terminate()
    first = args.workers[0]
    report = {
        "scale": facts,
        "machine": started_on | {"load_average_end": os.getloadavg()},
        "quick": args.quick,
        "seeding_seconds": round(seeding, 1),
        "workers": first,
        "service_rss_mb_max": rss_max[first],
        "cases": runs[first],
    }
    if len(runs) > 1:
        report["scaling"] = scaling(runs, rss_max)
    _report(args, report, runs, began)
    return 0


def scaling(runs: dict[int, list[dict[str, Any]]], rss_max: dict[int, float]) -> dict[str, Any]:
    """Requests/s at concurrency per case and worker count, and each count's speed-up over
    the first (the same cases, data and client in one run)."""
    counts = list(runs)
    by_case: dict[str, dict[int, float]] = {}
    for workers, results in runs.items():
        for c in results:
            if "rps" in c:
                by_case.setdefault(c["name"], {})[workers] = c["rps"]
    cases = {
        name: {
            "rps": {str(w): rps.get(w) for w in counts},
            "speedup": {
                str(w): round(rps[w] / rps[counts[0]], 2)
                for w in counts
                if w in rps and rps.get(counts[0])
            },
        }
        for name, rps in by_case.items()
    }
    return {"workers": counts, "rss_mb_max": rss_max, "cases": cases}


def scaling_table(report: dict[str, Any]) -> str:
    counts = report["workers"]
    header = f"{'case':<26}" + "".join(f" {f'{w}w req/s':>10}" for w in counts)
    header += "".join(f" {f'{w}w/{counts[0]}w':>8}" for w in counts[1:])
    lines = [header, "-" * len(header)]
    for name, case in report["cases"].items():
        line = f"{name:<26}" + "".join(f" {case['rps'][str(w)] or 0:>10.0f}" for w in counts)
        line += "".join(f" {case['speedup'].get(str(w), 0):>7.2f}x" for w in counts[1:])
        lines.append(line)
    return "\n".join(lines)


async def _prepare(
    db: Database, settings: Settings, scale: str, selected: list[Case]
) -> tuple[BenchEnv, dict[str, Any], set[str]]:
    """Who acts, what the scale holds, which tables exist; each selected case's setup."""
    admin = await asyncpg.connect(db.admin_dsn)
    try:
        env = await load_env(admin, settings)
        facts = await scale_facts(admin, scale)
        tables = {
            row["relname"]
            for row in await admin.fetch(
                "select relname from pg_class where relnamespace = 'vg'::regnamespace"
            )
        }
        for case in selected:
            if case.setup is not None and all(t in tables for t in case.requires):
                await case.setup(admin, env)
    finally:
        await admin.close()
    return env, facts, tables


async def _measure_all(
    args: argparse.Namespace,
    workers: int,
    home: Path,
    db: Database,
    settings: Settings,
    selected: list[Case],
    env: BenchEnv,
    tables: set[str],
    budget: Budget,
) -> tuple[list[dict[str, Any]], list[int]]:
    """Start the service, measure every selected case against it, stop it; the results
    and the service's resident-set samples."""
    port = args.port or _free_port()
    service = start_service(home, port, workers, args.profile)
    pool = await create_request_pool(db, settings)
    rss: list[int] = []
    results: list[dict[str, Any]] = []
    proc = psutil.Process(service.pid)
    try:
        await wait_healthy(port, service)
        if args.profile:  # py-spy writes its profile when the service exits
            proc = proc.children()[0]
        sampler = asyncio.create_task(_sample_rss(proc, rss))
        for case in selected:
            missing = [t for t in case.requires if t not in tables]
            if missing:
                results.append({"name": case.name, "skipped": f"no table vg.{missing[0]}"})
                continue
            measured = await _measure_one(case, env, port, pool, budget, proc, db)
            results.append(measured)
        sampler.cancel()
    finally:
        await pool.close()
        if proc.is_running():
            proc.terminate()
        service.wait(timeout=60)
    return results, rss


async def _sample_rss(proc: psutil.Process, rss: list[int]) -> None:
    """The largest resident set of any service process (a worker, or the parent)."""
    while True:
        for process in [proc, *proc.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                rss.append(process.memory_info().rss)
        await asyncio.sleep(0.25)


async def _measure_one(
    case: Case,
    env: BenchEnv,
    port: int,
    pool: asyncpg.Pool,
    budget: Budget,
    proc: psutil.Process,
    db: Database,
) -> dict[str, Any]:
    print(f"measuring {case.name} ...", file=sys.stderr, flush=True)
    try:
        measured = await measure_case(case, env, port, pool, budget, proc)
    except RuntimeError as error:  # a refused request: report it, measure the rest
        return {"name": case.name, "failed": str(error)[:300]}
    if case.check is not None:
        admin = await asyncpg.connect(db.admin_dsn)
        try:
            measured["check"] = await case.check(admin, env)
        finally:
            await admin.close()
    return measured


def _report(
    args: argparse.Namespace,
    report: dict[str, Any],
    runs: dict[int, list[dict[str, Any]]],
    began: float,
) -> None:
    facts = report["scale"]
    RESULTS.mkdir(exist_ok=True)
    text = json.dumps(report, indent=2, ensure_ascii=False, default=str)
    (RESULTS / "latest.json").write_text(text)
    (RESULTS / f"{args.scale}.json").write_text(text)
    print(
        f"\nscale {args.scale}: {facts['rows'].get('residents', 0):,} residents, "
        f"{facts['rows'].get('notices', 0):,} notices, "
        f"{facts['rows'].get('notice_reads', 0):,} read receipts, {facts['database_mb']:,} MiB"
    )
    for workers, results in runs.items():
        print(f"\n{workers} worker process(es):")
        print(table(results))
        for checked in results:
            if "check" in checked:
                print(f"{checked['name']}: {checked['check']}")
    if "scaling" in report:
        print("\nscaling (requests/s at concurrency, the same run):")
        print(scaling_table(report["scaling"]))
    rss = ", ".join(
        f"{w} worker(s) {mb} MiB"
        for w, mb in report.get("scaling", {})
        .get("rss_mb_max", {report["workers"]: report["service_rss_mb_max"]})
        .items()
    )
    print(
        f"largest RSS of a service process: {rss}; "
        f"total {time.monotonic() - began:.0f} s; results in {RESULTS / 'latest.json'}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--scale", choices=sorted(SCALES), default="town")
    parser.add_argument("--quick", action="store_true", help="fewer requests, one repeat")
    parser.add_argument("--repeat", type=int, help="runs per case; medians are reported")
    parser.add_argument("--home", help="VILLAGEGRAPH_HOME (default .villagegraph-bench/<scale>)")
    parser.add_argument("--port", type=int)
    parser.add_argument(
        "--workers",
        type=int,
        nargs="+",
        default=[1],
        help="serving processes; several counts (e.g. 1 2) measure each in the same run"
        " and print a scaling report (default: 1)",
    )
    parser.add_argument("--cases", nargs="*", help="only these case names")
    parser.add_argument("--profile", help="record the service with py-spy into this file")
    parser.add_argument(
        "--postgraphile", action="store_true", help="also measure PostGraphile 4's feed"
    )
    args = parser.parse_args(argv)
    home = Path(args.home or ROOT / ".villagegraph-bench" / args.scale).resolve()
    return asyncio.run(run(args, home))
