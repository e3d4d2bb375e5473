"""Soak: drive a real `villagegraph serve` for five minutes with a mix of reads and writes
and report its memory (RSS) before and after. Opt-in, not part of the test suite:

    .venv/bin/python bench/soak.py [--seconds 300] [--workers 8]

The service runs as a subprocess on a private embedded PostgreSQL in a temporary
VILLAGEGRAPH_HOME (demo data), so only the service's own Python process is measured.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

READS = [
    "{ feed(first: 20) { totalCount edges { node { id title publisher { name } } } } }",
    '{ notices(unit: "330302006000", first: 50) { totalCount edges { node { id readCount } } } }',
    '{ dashboard(unit: "330300000000") { residents noticeReach children { residents } } }',
    '{ unit(code: "330302000000") { name children { code name children { code } } } }',
    "{ me { id roles grants { role unit { code } } } }",
]
PUBLISH = """mutation($t: String!) { publishNotice(input: {unit: "330302006001", board: NOTICE,
    title: $t, body: "soak", audience: PUBLIC}) { id } }"""
READ = "mutation($id: ID!) { markNoticeRead(id: $id) { id } }"
PHONES = ["13800000000", "13800000002", "13800000003", "13800000010", "13800000020"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mib(process: psutil.Process) -> float:
    return process.memory_info().rss / 2**20


async def wait_for_health(base: str, deadline: float) -> None:
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            try:
                if (await client.get(f"{base}/health")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.5)
    raise SystemExit("the service did not become healthy")


async def drive(base: str, seconds: float, workers: int, stats: dict[str, int]) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        tokens = {}
        for phone in PHONES:
            r = await client.post(
                "/graphql",
                json={
                    "query": f'mutation {{ login(phone: "{phone}", password: "demo") {{ token }} }}'
                },
            )
            tokens[phone] = r.json()["data"]["login"]["token"]
        notice_ids: list[str] = []
        stop = time.monotonic() + seconds

        async def worker(n: int) -> None:
            rng = random.Random(n)
            while time.monotonic() < stop:
                roll = rng.random()
                if roll < 0.1:
                    phone, query = "13800000003", PUBLISH
                    variables: dict[str, Any] = {"t": f"soak {n} {stats['requests']}"}
                elif roll < 0.2 and notice_ids:
                    phone, query = "13800000010", READ
                    variables = {"id": rng.choice(notice_ids[-200:])}
                else:
                    phone, query, variables = rng.choice(PHONES), rng.choice(READS), {}
                r = await client.post(
                    "/graphql",
                    json={"query": query, "variables": variables},
                    headers={"Authorization": f"Bearer {tokens[phone]}"},
                )
                body = r.json()
                stats["requests"] += 1
                if body.get("errors"):
                    stats["errors"] += 1
                elif query is PUBLISH:
                    notice_ids.append(body["data"]["publishNotice"]["id"])

        await asyncio.gather(*(worker(n) for n in range(workers)))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--warmup", type=float, default=20)
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix=".villagegraph-soak-", dir=Path.cwd()))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "VILLAGEGRAPH_HOME": str(home)}
    env.pop("VILLAGEGRAPH_DATABASE_URL", None)
    service = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "villagegraph.cli",
        "serve",
        "--port",
        str(port),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        await wait_for_health(base, time.monotonic() + 120)
        process = psutil.Process(service.pid)
        stats = {"requests": 0, "errors": 0}
        await drive(base, args.warmup, args.workers, stats)
        before = rss_mib(process)
        samples = [before]
        started = time.monotonic()
        run = asyncio.create_task(drive(base, args.seconds, args.workers, stats))
        while not run.done():
            await asyncio.wait({run}, timeout=min(30, args.seconds / 10))
            samples.append(rss_mib(process))
        await run
        elapsed = time.monotonic() - started
        after = rss_mib(process)
        print(
            f"soak: {elapsed:.0f} s, {args.workers} workers, {stats['requests']} requests "
            f"({stats['requests'] / (elapsed + args.warmup):.0f}/s), {stats['errors']} errors"
        )
        print(
            f"service RSS after warm-up {before:.1f} MiB, after soak {after:.1f} MiB "
            f"(growth {after - before:+.1f} MiB, peak {max(samples):.1f} MiB)"
        )
        print("RSS samples (MiB): " + " ".join(f"{s:.1f}" for s in samples))
    finally:
        service.terminate()
        try:
            await asyncio.wait_for(service.wait(), 30)
        except TimeoutError:
            service.kill()
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
