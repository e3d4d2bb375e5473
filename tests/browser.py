"""Headless Chromium driven over the DevTools protocol, with every request outside one origin
refused and recorded (tests/test_graphiql_offline.py).

A deliberately small client: the system's `chromium` (Debian package), the `websockets` client
uvicorn[standard] already installs, and four CDP domains (Target, Fetch, Page, Runtime). It
never downloads a browser. Outside requests are stopped twice: the resolver maps every host
but 127.0.0.1 to "not found", and the Fetch domain aborts and records any request whose URL
is not under the allowed origin, so a test can assert that none was even attempted.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import shutil
import subprocess
import tempfile
import time
from typing import Any

from websockets.sync.client import connect

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")


def find_chromium() -> str | None:
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


class Browser:
    """One page in a fresh headless Chromium; `blocked` lists refused outside URLs."""

    def __init__(self, executable: str, allowed_origin: str) -> None:
        self.allowed_origin = allowed_origin.rstrip("/") + "/"
        self.blocked: list[str] = []
        self.allowed: list[str] = []
        self.console: list[str] = []
        self._ids = itertools.count(1)
        self._stack = contextlib.ExitStack()
        self._profile = tempfile.TemporaryDirectory(prefix="vg-chromium-")
        self._log = open(f"{self._profile.name}/chromium.log", "w+")  # noqa: SIM115
        self._process = subprocess.Popen(
            [
                executable,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-default-apps",
                "--disable-sync",
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                "--remote-debugging-port=0",
                f"--user-data-dir={self._profile.name}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            # A file, not a pipe: chromium keeps logging and would block on a full pipe.
            stderr=self._log,
        )
        try:
            self._socket = self._stack.enter_context(
                connect(self._devtools_url(), max_size=None, open_timeout=20)
            )
            target = self._call("Target.createTarget", {"url": "about:blank"})
            attached = self._call(
                "Target.attachToTarget", {"targetId": target["targetId"], "flatten": True}
            )
            self._session = attached["sessionId"]
            self.call("Fetch.enable", {"patterns": [{"urlPattern": "*"}]})
            self.call("Runtime.enable")
            self.call("Page.enable")
        except BaseException:
            self.close()
            raise

    def _devtools_url(self) -> str:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and self._process.poll() is None:
            self._log.seek(0)
            for line in self._log.read().splitlines():
                if "DevTools listening on " in line:
                    return line.split("DevTools listening on ", 1)[1].strip()
            time.sleep(0.05)
        self._log.seek(0)
        raise RuntimeError("chromium did not open its DevTools endpoint:\n" + self._log.read())

    def _call(self, method: str, params: dict[str, Any] | None = None, **extra: Any) -> Any:
        ident = next(self._ids)
        self._socket.send(
            json.dumps({"id": ident, "method": method, "params": params or {}, **extra})
        )
        while True:
            message = self._receive(timeout=30)
            if message is None:
                raise TimeoutError(f"no answer to {method}")
            if message.get("id") == ident:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    def call(self, method: str, params: dict[str, Any] | None = None) -> Any:
        """A command to the page's session."""
        return self._call(method, params, sessionId=self._session)

    def _receive(self, timeout: float) -> dict[str, Any] | None:
        try:
            message = json.loads(self._socket.recv(timeout=timeout))
        except TimeoutError:
            return None
        method = message.get("method")
        if method == "Fetch.requestPaused":
            self._decide(message["params"], message.get("sessionId"))
        elif method == "Runtime.consoleAPICalled":
            args = message["params"].get("args", [])
            self.console.append(" ".join(str(arg.get("value", "")) for arg in args))
        elif method == "Runtime.exceptionThrown":
            self.console.append(json.dumps(message["params"]["exceptionDetails"])[:500])
        return message

    def _decide(self, paused: dict[str, Any], session: str | None) -> None:
        url = paused["request"]["url"]
        request = {"requestId": paused["requestId"]}
        ident = next(self._ids)
        if url.startswith(self.allowed_origin):
            self.allowed.append(url)
            command = {"id": ident, "method": "Fetch.continueRequest", "params": request}
        else:
            self.blocked.append(url)
            params = {**request, "errorReason": "BlockedByClient"}
            command = {"id": ident, "method": "Fetch.failRequest", "params": params}
        self._socket.send(json.dumps({**command, "sessionId": session}))

    def navigate(self, url: str) -> None:
        self.call("Page.navigate", {"url": url})

    def evaluate(self, expression: str) -> Any:
        result = self.call(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 30) -> Any:
        """Poll a JavaScript expression until it is truthy; its value."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            while self._receive(timeout=0.1) is not None:
                pass
        raise TimeoutError(f"still falsy after {timeout}s: {expression}; console: {self.console}")

    def close(self) -> None:
        self._stack.close()
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._log.close()
        self._profile.cleanup()

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
