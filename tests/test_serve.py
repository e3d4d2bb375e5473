"""`villagegraph serve` as a new user runs it: embedded PostgreSQL, demo data, restarts."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def post(port: int, query: str | None, token: str | None = None, **extra: object) -> dict:
    body = {"query": query, **extra} if query is not None else extra
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps(body).encode(),
        headers={
            "Content-Type": "application/json",
            **({"Authorization": f"Bearer {token}"} if token else {}),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as error:  # 429 and friends still answer GraphQL JSON
        return json.loads(error.read())


def postmaster_pid(home: Path) -> int | None:
    pid_file = home / "pgdata" / "postmaster.pid"
    if not pid_file.exists():
        return None
    pid = int(pid_file.read_text().split()[0])
    return pid if psutil.pid_exists(pid) else None


class Service:
    def __init__(
        self, home: Path, args: tuple[str, ...] = ("--workers", "1"), **env_vars: str
    ) -> None:
        self.home = home
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("VILLAGEGRAPH_")}
        env["VILLAGEGRAPH_HOME"] = str(home)
        env.update(env_vars)
        self.env = env
        self.log = home.parent / f"serve-{self.port}.log"
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "villagegraph.cli", "serve", "--port", str(self.port)]
                + list(args),
                env=env,
                stdout=log,
                stderr=log,
            )
        deadline = time.time() + 90
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
            assert self.process.poll() is None, "serve exited early:\n" + self.log_tail()
        raise AssertionError("serve did not become healthy")

    def log_tail(self) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-30:])

    def login(self, phone: str) -> str:
        result = post(
            self.port, f'mutation {{ login(phone: "{phone}", password: "demo") {{ token }} }}'
        )
        return result["data"]["login"]["token"]

    def stop(self, sig: int = signal.SIGINT) -> None:
        self.process.send_signal(sig)
        self.process.wait(timeout=60)


def test_serve_starts_seeds_restarts_and_recovers_from_a_crash(tmp_path):
    home = tmp_path / "home"
    first = Service(home)
    token = first.login("13800000003")
    published = post(
        first.port,
        'mutation { publishNotice(input: {unit: "330302006001", board: NOTICE, title: "重启测试",'
        ' body: "b", audience: PUBLIC}) { id } }',
        token,
    )["data"]["publishNotice"]["id"]
    assert postmaster_pid(home) is not None
    first.stop(signal.SIGINT)  # Ctrl-C stops the database too
    assert postmaster_pid(home) is None

    second = Service(home)  # a second start reuses the data (and does not seed again)
    found = post(second.port, f'{{ notice(id: "{published}") {{ title }} }}')
    assert found["data"]["notice"] == {"title": "重启测试"}
    second.stop(signal.SIGKILL)  # a crash leaves the database running
    stale = postmaster_pid(home)
    assert stale is not None

    third = Service(home)  # the stale server is found and reused
    assert postmaster_pid(home) == stale
    assert post(third.port, '{ unit(code: "330302006001") { level } }')["data"]["unit"]
    third.stop(signal.SIGTERM)
    assert postmaster_pid(home) is None
