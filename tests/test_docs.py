"""The contract ships with the project (issue 17, finding 4): docs/ holds it, nothing cites
a file the repository does not contain, every error code and every command is documented."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from villagegraph import errors
from villagegraph.cli import parser

ROOT = Path(__file__).resolve().parent.parent
DOCS = sorted((ROOT / "docs").glob("*.md"))
MARKDOWN = [ROOT / "README.md", *DOCS, ROOT / "villagegraph" / "data" / "README.md"]
CODE_DIRS = ("villagegraph", "schema", "resolvers", "tenants", "tests", "bench", "scripts")
TOP = r"(?:villagegraph|schema|resolvers|tenants|tests|bench|scripts|docs|tools)"
# A cited path: a top-level folder, then path characters, ending in a known extension.
CITED = re.compile(
    rf"(?<![\w./-])({TOP}/[\w./-]*\.(?:py|md|sql|graphql|mjs|json|csv|html|txt|ini|lock))\b"
    r"|(?<![\w./-])([\w-]+\.md)\b"
)
GENERATED = ("bench/results/", "node_modules/")  # written by a run, not in the repository
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def _missing_citations(path: Path, text: str) -> list[str]:
    missing = []
    for match in CITED.finditer(text):
        cited = match.group(1) or match.group(2)
        if re.search(r"NNNN|<|\*|\{", text[match.start() : match.end() + 1]):
            continue
        if any(generated in cited for generated in GENERATED):
            continue
        candidates = [ROOT / cited, path.parent / cited]
        if not any(c.exists() for c in candidates):
            missing.append(f"{path.relative_to(ROOT)}: {cited}")
    return missing


def test_no_markdown_link_or_cited_file_is_missing():
    missing = []
    for path in MARKDOWN:
        text = path.read_text()
        for target in LINK.findall(text):
            if re.match(r"[a-z]+:|#", target):
                continue
            if not (path.parent / target.split("#")[0]).exists():
                missing.append(f"{path.relative_to(ROOT)}: link {target}")
        missing += _missing_citations(path, text)
    assert missing == []


def test_no_code_cites_a_missing_file():
    missing = []
    for folder in CODE_DIRS:
        for path in sorted((ROOT / folder).rglob("*")):
            if path.suffix not in (".py", ".sql", ".mjs", "") or not path.is_file():
                continue
            if "node_modules" in path.parts or path.name == "test_docs.py":
                continue
            missing += _missing_citations(path, path.read_text(errors="replace"))
    assert missing == []


def _codes_in_errors_module() -> set[str]:
    classes = [v for v in vars(errors).values() if isinstance(v, type)]
    return {c.code for c in classes if issubclass(c, errors.VillageGraphError)}


def _section(title: str) -> str:
    text = (ROOT / "docs" / "API.md").read_text()
    start = text.index(f"## {title}")
    end = text.find("\n## ", start + 3)
    return text[start : end if end > 0 else None]


def test_every_error_code_is_documented_with_when_and_nothing_else_is():
    rows = re.findall(r"^\| `([A-Z_]+)` \|([^|]+)\|", _section("Errors"), re.M)
    documented = {code for code, when in rows if when.strip()}
    assert documented == _codes_in_errors_module()


def test_every_command_and_flag_is_documented_in_api_md():
    commands = _section("Commands")
    missing = []

    def walk(prefix: str, command: argparse.ArgumentParser) -> None:
        for action in command._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    full = f"{prefix} {name}"
                    if f"`{full}" not in commands:
                        missing.append(full)
                    walk(full, sub)
            elif action.option_strings and action.dest != "help":
                flag = action.option_strings[0]
                if flag not in commands:
                    missing.append(f"{prefix} {flag}")

    walk("villagegraph", parser())
    assert missing == []


def test_the_limits_table_is_the_default_limits():
    from dataclasses import astuple

    from villagegraph.limits import DEFAULT_LIMITS

    section = _section("Limits")
    header = re.search(r"^\| tier \|(.+)\|$", section, re.M)
    assert header is not None
    rows = {
        cells[0]: tuple(int(c) for c in cells[1:])
        for line in re.findall(r"^\| ([a-z]+ \|[ \d|]+)\|$", section, re.M)
        for cells in [[c.strip() for c in line.split("|")]]
    }
    assert rows == {tier: astuple(limits) for tier, limits in DEFAULT_LIMITS.items()}
    names = [c.strip() for c in header.group(1).split("|")]
    assert names == list(DEFAULT_LIMITS["anonymous"].__dataclass_fields__)
