"""The scale curve: `python -m bench.curve` prints GraphQL p50 per case across the scales
measured so far (bench/results/<scale>.json), so cost growth with data is visible."""

from __future__ import annotations

import json

from bench.runner import RESULTS

SCALES = ("town", "county", "wenzhou")


def main() -> int:
    results = {}
    for scale in SCALES:
        path = RESULTS / f"{scale}.json"
        if path.exists():
            results[scale] = json.loads(path.read_text())
    if not results:
        print("no results yet: run python -m bench --scale town first")
        return 1
    names = [c["name"] for c in next(iter(results.values()))["cases"]]
    header = f"{'case (GraphQL p50 ms / req/s)':<30}" + "".join(f"{s:>18}" for s in results)
    print(header)
    for name in names:
        cells = []
        for report in results.values():
            case = next((c for c in report["cases"] if c["name"] == name), None)
            cells.append(
                f"{case['p50_ms']:>9.2f} /{case['rps']:>6.0f}" if case and "p50_ms" in case else "-"
            )
        print(f"{name:<30}" + "".join(f"{cell:>18}" for cell in cells))
    residents = "".join(f"{r['scale']['rows'].get('residents', 0):>18,}" for r in results.values())
    print(f"{'residents':<30}{residents}")
    if {"town", "wenzhou"} <= results.keys():
        for name in names:
            town = next(c for c in results["town"]["cases"] if c["name"] == name)
            city = next(c for c in results["wenzhou"]["cases"] if c["name"] == name)
            if "p50_ms" in town and "p50_ms" in city:
                print(f"{name:<30} wenzhou/town p50 x{city['p50_ms'] / town['p50_ms']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
