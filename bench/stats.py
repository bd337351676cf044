"""The one percentile that every benchmark reports, and the one table of targets."""

import json
from pathlib import Path


def percentile(values, q: float) -> float:
    """The value at rank q % of the sorted values (nearest rank, no interpolation): always
    one of the measured values. q = 50 is the median, q = 100 the maximum."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def report_targets(results: dict, rows, targets: dict, json_path: Path | None) -> None:
    """Print each (name, measured value) against its target (at most), record them in
    `results`, and write `results` to json_path when one is given."""
    print(f"\n{'target':28s} {'measured':>10s} {'target':>8s}")
    results["targets"] = {}
    for name, value in rows:
        target = targets[name]
        results["targets"][name] = {"measured": value, "target": target, "met": value <= target}
        print(f"{name:28s} {value:10.3f} {target:8.3f}  {'ok' if value <= target else 'MISSED'}")
    if json_path:
        json_path.write_text(json.dumps(results, indent=2) + "\n")
        print(f"\nwrote {json_path}")
