"""A bench result as the README's performance table and chart (Markdown on stdout).

    .venv/bin/python bench/summary.py bench/results/latest.json

The table: each figure for the project and hordak, the ratio, and for the writes the share
of PostgreSQL's own limit measured in the same run. The chart: the writes' shares of their
limit as bars, the project's beside hordak's (standard library only).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

BAR = 40  # characters for 100% of the limit


def number(value: float | None) -> str:
    if value is None:
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:,.1f}"
    return f"{value:,.2f}"


def share(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def bar(value: float | None) -> str:
    if value is None:
        return ""
    filled = max(1, round(min(value, 1.0) * BAR))
    return "#" * filled + "." * (BAR - filled)


def summary(results: dict[str, Any]) -> str:
    info = results["info"]
    limits = results["limits"]
    lines = [
        f"{results['legs']:,} postings, PostgreSQL {info['postgresql']}, "
        f"{info['machine']['cpus']} CPUs, revision {info['project_revision']}, {info['date']}. "
        f"PostgreSQL's own limits in the same run: COPY into a postings-shaped table "
        f"{number(limits['copy_rows_per_s'])} rows/s, one-row INSERT + COMMIT "
        f"{number(limits['commits_per_s'])} commits/s.",
        "",
        "| figure | unit | project | django-hordak | ratio | project / limit | hordak / limit |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for name, figure in results["figures"].items():
        ratio = "-" if figure["ratio"] is None else f"{figure['ratio']:,.1f}x"
        lines.append(
            f"| {name.replace('_', ' ')} | {figure['unit']} | {number(figure['project'])} | "
            f"{number(figure['hordak'])} | {ratio} | {share(figure.get('project_of_limit'))} | "
            f"{share(figure.get('hordak_of_limit'))} |"
        )
    lines += [
        "",
        "Writes as a share of PostgreSQL's own limit (`#` = the project, `=` = hordak, `o` = "
        "the project with PostgreSQL's triggers and foreign keys off for its session):",
    ]
    lines.append("```")
    for name, figure in results["figures"].items():
        if "limit" not in figure:
            continue
        lines.append(
            f"{name:<22} {bar(figure.get('project_of_limit'))} "
            f"{share(figure.get('project_of_limit'))}"
        )
        hordak = bar(figure.get("hordak_of_limit")).replace("#", "=")
        lines.append(f"{'  django-hordak':<22} {hordak} {share(figure.get('hordak_of_limit'))}")
        if figure.get("without_rules_of_limit") is not None:
            free = bar(figure["without_rules_of_limit"]).replace("#", "o")
            lines.append(f"{'  rules off':<22} {free} {share(figure['without_rules_of_limit'])}")
    lines.append("```")
    met = [t for t in results["targets"] if t["met"]]
    lines.append("")
    lines.append(f"Write targets met in this run: {len(met)} of {len(results['targets'])}.")
    for target in results["targets"]:
        wanted = (
            f"{target['at_least']:g}x hordak"
            if target["against"] == "hordak"
            else f"{target['at_least']:.0%} of {target['against']}"
        )
        found = (
            "-"
            if target["found"] is None
            else (
                f"{target['found']:.2f}x"
                if target["against"] == "hordak"
                else f"{target['found']:.0%}"
            )
        )
        state = {True: "met", False: "not met", None: "-"}[target["met"]]
        free = target.get("found_without_rules")
        if free is not None:
            free_text = f"{free:.2f}x" if target["against"] == "hordak" else f"{free:.0%}"
            state += f" (rules off: {free_text})"
        lines.append(f"- {target['figure'].replace('_', ' ')}: at least {wanted}: {found}, {state}")
    return "\n".join(lines)


def main() -> None:
    path = Path(sys.argv[1] if len(sys.argv) > 1 else "bench/results/latest.json")
    print(summary(json.loads(path.read_text())))


if __name__ == "__main__":
    main()
