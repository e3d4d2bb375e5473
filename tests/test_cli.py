"""The `villagegraph` command as an operator meets it (issue 17, finding 5): seed refuses a
database that holds data, one log format for every command, no library chatter, every
--help shows its defaults and `worker --help` names every scan of the registry."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from villagegraph.cli import parser
from villagegraph.domains import DOMAINS

CHATTER = ("XDG_RUNTIME_DIR", "alembic.runtime.plugins", "setup plugin", "Context impl")


def villagegraph(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VILLAGEGRAPH_")}
    env.pop("XDG_RUNTIME_DIR", None)
    return subprocess.run(
        [sys.executable, "-m", "villagegraph.cli", *args, "--home", str(home)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_seed_refuses_a_home_that_holds_data_and_logs_in_one_format(tmp_path):
    home = tmp_path / "home"
    first = villagegraph(home, "seed", "--log-format", "json")
    assert first.returncode == 0, first.stderr
    assert "seeded the demo data" in first.stdout
    log_lines = [line for line in first.stderr.splitlines() if line.strip()]
    assert log_lines and all(json.loads(line)["level"] for line in log_lines), first.stderr
    for scale in ("town", "demo"):
        again = villagegraph(home, "seed", "--scale", scale)
        assert again.returncode == 1
        assert "already holds data" in again.stderr and "hint:" in again.stderr
        assert str(home) in again.stderr
    text = villagegraph(home, "migrate")
    assert text.returncode == 0
    assert "INFO villagegraph: migrations applied" in text.stderr
    for run in (first, again, text):
        assert not [c for c in CHATTER if c in run.stdout + run.stderr], run.stderr


def _subcommands(root: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    found: dict[str, argparse.ArgumentParser] = {}
    for action in root._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found[name] = sub
                found.update({f"{name} {k}": v for k, v in _subcommands(sub).items()})
    return found


def test_every_help_shows_the_defaults():
    missing = []
    for name, sub in _subcommands(parser()).items():
        text = sub.format_help()
        for action in sub._actions:
            if action.default in (None, False, argparse.SUPPRESS) or not action.option_strings:
                continue
            if f"default: {action.default}" not in text and "default:" not in (action.help or ""):
                missing.append(f"{name} {action.option_strings[0]}")
    assert missing == []


def test_worker_help_names_every_scan():
    text = " ".join(_subcommands(parser())["worker"].format_help().split())
    scans = [scan for domain in DOMAINS for scan in domain.scans]
    assert scans and [scan for scan in scans if scan not in text] == []
