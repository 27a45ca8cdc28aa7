"""Benchmark of the offline plan and its policy review against Pulumi's own floor.

    ./kit bench [--sizes 1,10,100,300] [--runs 3] [--root DIR] [--write FILE]

For each size it writes a stack of that many teams (each team: one data bucket served to
both PAI consumers, one NAS volume, one RAM user on the EAS policy) to a temporary stack file
and, on this machine, in one run:

* plans it once with ``python -m paikit.plan bench --stack-file F --json`` and keeps the plan;
* times whole processes, several runs each, interleaved: the kit's offline plan with its
  policy review (when the plan has one), and the floor, ``bench/floor.py``, which registers the
  same resources with the same inputs under the same mock engine with no kit code at all, as
  plain ``CustomResource`` objects and, typed, as the provider's own classes;
* runs the plan once more per round under ``bench/inprocess.py`` for the share of the policy
  review, the settings, the program and the rendering;
* times the import of the kit and the provider modules it uses in a fresh process.

It prints Markdown tables for README's "Performance" section and writes them, with the raw
figures as JSON next to them, to ``out/bench.md`` (``--write ''`` writes nothing). The result
is the ratios: the absolute times depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
STACK = "bench"
DEFAULT_SIZES = "1,10,100,300"
DEFAULT_RUNS = 3

TARGET_RATIO = 1.25  # kit / floor, at every size
TARGET_REVIEW_SHARE = 0.10  # of the kit's time, at 100 teams
TARGET_REVIEW_TEAMS = 100
TARGET_IMPORT_SECONDS = 0.5  # kit and provider modules, before the first resource
# Cost per added resource, between the two largest sizes over the two before: 1 is linear.
# The smallest interval (a few dozen resources) is too short to measure on a shared machine.
SUPERLINEAR = 1.25

# What the import probe does in a fresh process: the kit's modules, the program's imports,
# then the provider packages those hold, which pulumi_alicloud loads only on first use.
IMPORT_PROBE = r"""
import ast, json, sys, time, types
began = time.perf_counter()
import pulumi
pulumi_done = time.perf_counter()
root = sys.argv[1]
sys.path.insert(0, root)
names = ["paikit.plan", "paikit.mocks", "paikit.runtime"]
tree = ast.parse(open(root + "/__main__.py", encoding="utf-8").read())
for node in ast.walk(tree):
    if isinstance(node, ast.Import):
        names += [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
        names.append(node.module)
modules = [__import__(name, fromlist=["_"]) for name in dict.fromkeys(names)]
kit_done = time.perf_counter()
lazy = [
    value
    for module in list(sys.modules.values())
    if getattr(module, "__name__", "").startswith(("paikit", "components"))
    for value in list(vars(module).values())
    if isinstance(value, types.ModuleType) and type(value).__name__ == "_LazyModule"
]
loaded = sorted({value.__name__ for value in lazy})
for value in lazy:
    getattr(value, "__all__", None)
provider_done = time.perf_counter()
json.dump({
    "pulumi": pulumi_done - began,
    "kit": kit_done - pulumi_done,
    "provider": provider_done - kit_done,
    "total": provider_done - began,
    "provider_packages_loaded": loaded,
    "provider_modules": sum(m.startswith("pulumi_alicloud") for m in sys.modules),
}, sys.stdout)
"""


# --- stacks -----------------------------------------------------------------------------------


def team_names(teams: int) -> list[str]:
    width = max(3, len(str(teams)))
    return [f"team-{i:0{width}d}" for i in range(1, teams + 1)]


def team_stack(teams: int) -> dict:
    """A stack file of ``teams`` teams, each with a bucket, a NAS volume and a RAM user."""
    names = team_names(teams)
    return {
        "config": {
            "alicloud:region": "cn-hangzhou",
            "pai-kit:costOwner": "ml-platform",
            "pai-kit:tags": ["cost-center=research"],
            # OSS names: 3 to 63 characters, unique across OSS; paiConsumers default to both.
            "pai-kit:buckets": [{"name": f"acme-pai-{STACK}-{n}-data"} for n in names],
            # Mount paths default to /mnt/data/ for the first volume, /mnt/<name>/ for others.
            "pai-kit:nasVolumes": [{"name": n} for n in names],
            "pai-kit:easPolicyUsers": [f"{n}-ml" for n in names],
        }
    }


def write_stack(path: Path, teams: int) -> None:
    import yaml

    path.write_text(yaml.safe_dump(team_stack(teams), sort_keys=False), encoding="utf-8")


# --- processes --------------------------------------------------------------------------------


@dataclass
class Run:
    seconds: float
    maxrss_kib: int
    status: int
    stderr: str


def run(command: list[str], cwd: Path, stdout_path: Path | None = None) -> Run:
    """Run one process to its end: wall clock, its own peak memory, status and stderr."""
    with tempfile.TemporaryFile() as err:
        out = open(stdout_path, "wb") if stdout_path else subprocess.DEVNULL  # noqa: SIM115
        try:
            began = time.perf_counter()
            process = subprocess.Popen(command, cwd=cwd, stdout=out, stderr=err)
            _, status, usage = os.wait4(process.pid, 0)
            seconds = time.perf_counter() - began
        finally:
            if stdout_path:
                out.close()
        process.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        text = err.read().decode("utf-8", errors="replace")
    return Run(seconds, usage.ru_maxrss, process.returncode, text)


@dataclass
class PlanCli:
    """What the plan command offers: its flags, and the switches of its policy review."""

    flags: set[str]
    review_on: list[str]
    review_off: list[str] | None
    note: str


# Files the review writes besides the plan; the benchmark sends them to its own folder.
REVIEW_FILES = {"--markdown": "review-{teams}.md", "--sarif": "review-{teams}.sarif"}


def plan_cli(python: str, root: Path) -> PlanCli:
    result = subprocess.run(
        [python, "-m", "paikit.plan", "--help"], cwd=root, capture_output=True, text=True
    )
    flags = set(re.findall(r"--[a-z][a-z0-9-]*", result.stdout))
    off = sorted(f for f in flags if f.startswith("--no-") and ("review" in f or "polic" in f))
    on = sorted(f for f in flags if f in ("--review", "--policy-review", "--policies"))
    if off:
        return PlanCli(flags, [], [off[0]], f"on by default, {off[0]} switches it off")
    if on:
        return PlanCli(flags, [on[0]], [], f"{on[0]} switches it on")
    return PlanCli(flags, [], None, "no flag for it")


# --- measuring --------------------------------------------------------------------------------


@dataclass
class Size:
    teams: int
    stack_file: Path
    plan_file: Path
    resources: int = 0
    status: int = 0
    refused: str = ""
    kit: list[Run] = field(default_factory=list)
    kit_without_review: list[Run] = field(default_factory=list)
    floor: list[Run] = field(default_factory=list)
    typed_floor: list[Run] = field(default_factory=list)
    phases: list[dict] = field(default_factory=list)


def seconds(runs: list[Run]) -> tuple[float, float]:
    values = [r.seconds for r in runs]
    return (min(values), statistics.median(values)) if values else (math.nan, math.nan)


def peak_mib(runs: list[Run]) -> float:
    return max((r.maxrss_kib for r in runs), default=0) / 1024


def failures(runs: list[Run], expected: int = 0) -> list[str]:
    return sorted(
        {f"exit {r.status}: {_last_line(r.stderr)}" for r in runs if r.status != expected}
    )


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:160] if lines else ""


def measure(args: argparse.Namespace) -> dict:
    root = Path(args.root).resolve()
    python = args.python or str(
        root / ".venv" / "bin" / "python" if (root / ".venv" / "bin" / "python").exists() else ""
    )
    python = python or sys.executable
    cli = plan_cli(python, root)
    review_on, review_off = cli.review_on, cli.review_off
    sizes_wanted = sorted({int(s) for s in args.sizes.split(",") if s.strip()})
    work = Path(args.keep).resolve() if args.keep else Path(tempfile.mkdtemp(prefix="pai-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    log = (lambda *a: None) if args.quiet else (lambda *a: print(*a, file=sys.stderr, flush=True))

    def plan_command(size: Size, extra: list[str]) -> list[str]:
        command = [python, "-m", "paikit.plan", STACK, "--stack-file", str(size.stack_file)]
        for flag, name in REVIEW_FILES.items():
            if flag in cli.flags:
                command += [flag, str(work / name.format(teams=size.teams))]
        return [*command, "--json", *extra]

    sizes = []
    for teams in sizes_wanted:
        size = Size(teams, work / f"Pulumi.{STACK}-{teams}.yaml", work / f"plan-{teams}.json")
        write_stack(size.stack_file, teams)
        captured = run(plan_command(size, review_on), root, size.plan_file)
        size.status = captured.status
        try:
            size.resources = len(json.loads(size.plan_file.read_text())["resources"])
        except (ValueError, KeyError):
            size.refused = f"exit {captured.status}: {_last_line(captured.stderr)}"
        log(f"{teams} teams: {size.resources} resources, exit {captured.status} {size.refused}")
        sizes.append(size)

    for round_index in range(args.runs):
        # Alternate the order so that drift on a shared machine falls on every size alike.
        order = sizes if round_index % 2 == 0 else sizes[::-1]
        for size in order:
            if not size.resources:
                continue
            size.kit.append(run(plan_command(size, review_on), root))
            floor = [python, str(BENCH / "floor.py"), str(size.plan_file)]
            size.floor.append(run(floor, root))
            size.typed_floor.append(run([*floor, "--typed"], root))
            if review_off:
                size.kit_without_review.append(run(plan_command(size, review_off), root))
            phases_file = work / f"phases-{size.teams}-{round_index}.json"
            inprocess = [python, str(BENCH / "inprocess.py"), str(root), str(phases_file)]
            run([*inprocess, *plan_command(size, review_on)[3:]], root)
            if phases_file.exists():
                size.phases.append(json.loads(phases_file.read_text()))
        log(f"round {round_index + 1}/{args.runs} done, {time.perf_counter() - began:.0f} s")

    probes = []
    for _ in range(max(3, args.runs)):
        result = subprocess.run(
            [python, "-c", IMPORT_PROBE, str(root)], cwd=root, capture_output=True, text=True
        )
        if result.returncode == 0:
            probes.append(json.loads(result.stdout))
    imports = min(probes, key=lambda p: p["total"]) if probes else {}
    if imports:
        imports["median_total"] = statistics.median(p["total"] for p in probes)

    return {
        "root": str(root),
        "python": python,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        "runs": args.runs,
        "review": review_verdict(cli.note, sizes),
        "review_flag_off": (review_off or [None])[0],
        "elapsed": time.perf_counter() - began,
        "imports": imports,
        "sizes": [summarise(size) for size in sizes],
        "work": str(work),
    }


def review_verdict(flags: str, sizes: list[Size]) -> str:
    """Whether the timed plan ran a policy review, as the in-process runs saw it."""
    found = sorted({f for size in sizes for p in size.phases for f in p["review_functions"]})
    entries = sorted({f for size in sizes for p in size.phases for f in p["review_entries"]})
    if entries:
        return f"included ({flags}; timed from {', '.join(entries)} down)"
    if found:
        return f"not run by the plan command ({flags}; found {', '.join(found)})"
    return f"not included: the plan has no policy review ({flags})"


def _median_phase(size: Size, pick) -> float:
    values = [v for v in (pick(p) for p in size.phases) if v is not None]
    return statistics.median(values) if values else math.nan


def summarise(size: Size) -> dict:
    kit_min, kit_median = seconds(size.kit)
    floor_min, floor_median = seconds(size.floor)
    typed_min, typed_median = seconds(size.typed_floor)
    without_min, _ = seconds(size.kit_without_review)
    reviewed = any(p["calls"].get("review") for p in size.phases)
    review = (
        _median_phase(size, lambda p: p["phases"].get("review", 0.0) / p["total"])
        if reviewed
        else math.nan
    )
    return {
        "teams": size.teams,
        "resources": size.resources,
        "refused": size.refused,
        "kit": [round(r.seconds, 4) for r in size.kit],
        "floor": [round(r.seconds, 4) for r in size.floor],
        "typed_floor": [round(r.seconds, 4) for r in size.typed_floor],
        "kit_without_review": [round(r.seconds, 4) for r in size.kit_without_review],
        "kit_min": kit_min,
        "kit_median": kit_median,
        "floor_min": floor_min,
        "floor_median": floor_median,
        "ratio_min": kit_min / floor_min,
        "ratio_median": kit_median / floor_median,
        "typed_floor_min": typed_min,
        "typed_floor_median": typed_median,
        "typed_ratio_min": kit_min / typed_min,
        "typed_floor_over_floor": typed_min / floor_min,
        "review_share": review,
        "review_share_by_flag": (kit_min - without_min) / kit_min,
        "kit_peak_mib": peak_mib(size.kit),
        "floor_peak_mib": peak_mib(size.floor),
        "first_resource": _median_phase(size, lambda p: p["marks"].get("first registration")),
        "settings": _median_phase(size, lambda p: p["phases"].get("settings")),
        "program": _median_phase(size, lambda p: p["phases"].get("program")),
        "render": _median_phase(
            size, lambda p: p["phases"].get("render_json", p["phases"].get("render_text"))
        ),
        "review": _median_phase(size, lambda p: p["phases"].get("review")),
        "inprocess_total": _median_phase(size, lambda p: p["total"]),
        "review_functions": sorted({f for p in size.phases for f in p["review_functions"]}),
        "status": size.status,
        "failures": failures(size.kit, size.status)
        + failures(size.floor)
        + failures(size.typed_floor),
    }


# --- reporting --------------------------------------------------------------------------------


def _num(value: float, digits: int = 2) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.{digits}f}"


def _share(value: float) -> str:
    return "-" if value is None or math.isnan(value) else f"{100 * value:.1f} %"


def marginal(sizes: list[dict], key: str) -> dict[int, float]:
    """Milliseconds per resource added since the previous size: flat when growth is linear."""
    out, previous = {}, None
    for size in sizes:
        if not size["resources"]:
            continue
        if previous:
            added = size["resources"] - previous["resources"]
            out[size["teams"]] = 1000 * (size[key] - previous[key]) / added
        previous = size
    return out


def render(result: dict) -> str:
    sizes = [s for s in result["sizes"] if s["resources"]]
    kit_ms, floor_ms = marginal(sizes, "kit_min"), marginal(sizes, "floor_min")
    lines = [
        f"Offline plan with policy review (`python -m paikit.plan STACK --stack-file F --json`)"
        f" against Pulumi's floor (`bench/floor.py`: the same resources, inputs and options "
        f"under the same mock engine, no kit code, no policies) as plain `CustomResource`s and, "
        f"typed, as the provider's own classes; whole processes, best and median of "
        f"{result['runs']} runs on {result['machine']}. Policy review: {result['review']}.",
        "",
        "| teams | resources | kit/floor | kit/typed floor | typed floor/floor "
        "| kit s | floor s | typed floor s | ms per added resource, kit / floor "
        "| policy review | peak RSS MiB, kit / floor |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in sizes:
        added = (
            f"{_num(kit_ms[s['teams']])} / {_num(floor_ms[s['teams']])}"
            if s["teams"] in kit_ms
            else "-"
        )
        lines.append(
            f"| {s['teams']} | {s['resources']} "
            f"| **{_num(s['ratio_min'])}** ({_num(s['ratio_median'])}) "
            f"| {_num(s['typed_ratio_min'])} | {_num(s['typed_floor_over_floor'])} "
            f"| {_num(s['kit_min'])} ({_num(s['kit_median'])}) "
            f"| {_num(s['floor_min'])} ({_num(s['floor_median'])}) "
            f"| {_num(s['typed_floor_min'])} ({_num(s['typed_floor_median'])}) | {added} "
            f"| {_share(s['review_share'])} "
            f"| {_num(s['kit_peak_mib'], 0)} / {_num(s['floor_peak_mib'], 0)} |"
        )
    lines += [
        "",
        "Ratios and seconds are of the best run, the median in brackets. The review's share is "
        "measured in-process (`bench/inprocess.py`).",
    ]
    if any(s["kit_without_review"] for s in sizes):
        shares = ", ".join(
            f"{s['teams']}: {_share(s['review_share_by_flag'])}"
            for s in sizes
            if s["kit_without_review"]
        )
        lines.append(
            f"Whole processes with and without {result['review_flag_off']}, best against "
            f"best (noisy where the review is small): {shares}."
        )
    for s in result["sizes"]:
        if s["refused"]:
            lines.append(f"\n{s['teams']} teams: the kit refused the stack: {s['refused']}")
    lines += [
        "",
        "Where the kit's time goes (one in-process run per round, median, seconds):",
        "",
        "| teams | first resource registered at | settings | program (all registrations) "
        "| rendering | policy review | whole run |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in sizes:
        lines.append(
            f"| {s['teams']} | {_num(s['first_resource'])} | {_num(s['settings'], 3)} "
            f"| {_num(s['program'])} | {_num(s['render'], 3)} | {_num(s['review'], 3)} "
            f"| {_num(s['inprocess_total'])} |"
        )
    imports = result["imports"]
    if imports:
        loaded = ", ".join(
            p.removeprefix("pulumi_alicloud.") for p in imports["provider_packages_loaded"]
        )
        lines += [
            "",
            f"Imports before the first resource (fresh process, best of {max(3, result['runs'])}):"
            f" {_num(imports['total'])} s in all: pulumi {_num(imports['pulumi'])} s, "
            f"the kit's modules {_num(imports['kit'])} s, provider packages "
            f"{_num(imports['provider'])} s ({loaded or 'none'}; "
            f"{imports['provider_modules']} pulumi_alicloud modules).",
        ]
    lines += ["", "Targets:", ""]
    lines += [f"- {line}" for line in verdicts(result, kit_ms)]
    return "\n".join(lines) + "\n"


def verdicts(result: dict, kit_ms: dict[int, float]) -> list[str]:
    sizes = [s for s in result["sizes"] if s["resources"]]
    out = []
    worst = max(sizes, key=lambda s: s["ratio_min"], default=None)
    if worst:
        ok = all(s["ratio_min"] <= TARGET_RATIO for s in sizes)
        out.append(
            f"kit/floor at most {TARGET_RATIO} at every size: {'met' if ok else 'missed'} "
            f"(worst {_num(worst['ratio_min'])} at {worst['teams']} teams)"
        )
        typed = max(sizes, key=lambda s: s["typed_ratio_min"])
        out.append(
            f"kit/typed floor, for reference: worst {_num(typed['typed_ratio_min'])} at "
            f"{typed['teams']} teams; the provider's classes alone cost "
            f"{_num(min(s['typed_floor_over_floor'] for s in sizes))} to "
            f"{_num(max(s['typed_floor_over_floor'] for s in sizes))} times the plain floor"
        )
    if len(kit_ms) >= 2:
        before, last = sorted(kit_ms)[-2:]
        floor_ms = marginal(sizes, "floor_min")

        def growth(costs: dict[int, float]) -> float:
            return costs[last] / costs[before] if costs[before] > 0 else math.inf

        out.append(
            f"growth no worse than linear: {'met' if growth(kit_ms) <= SUPERLINEAR else 'missed'}"
            f" (cost per added resource {_num(kit_ms[before])} ms up to {before} teams, "
            f"{_num(kit_ms[last])} ms up to {last} teams: x{_num(growth(kit_ms))}; "
            f"the floor's x{_num(growth(floor_ms))})"
        )
    at = next((s for s in sizes if s["teams"] == TARGET_REVIEW_TEAMS), None)
    if at:
        share = at["review_share"]
        target = f"policy review at most {100 * TARGET_REVIEW_SHARE:.0f} % of the kit's time at "
        target += f"{TARGET_REVIEW_TEAMS} teams"
        if math.isnan(share):
            out.append(f"{target}: not measured, the plan ran no review")
        else:
            ok = share <= TARGET_REVIEW_SHARE
            out.append(f"{target}: {'met' if ok else 'missed'} ({_share(share)})")
    imports = result["imports"]
    if imports:
        ok = imports["total"] <= TARGET_IMPORT_SECONDS
        out.append(
            f"imports before the first resource under {TARGET_IMPORT_SECONDS} s: "
            f"{'met' if ok else 'missed'} ({_num(imports['total'])} s)"
        )
    for s in result["sizes"]:
        if s["status"] and s["resources"]:
            out.append(f"{s['teams']} teams: the plan exits {s['status']} (review blocked?)")
        for failure in s["failures"]:
            out.append(f"{s['teams']} teams: a run failed: {failure}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kit bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=DEFAULT_SIZES, help=f"teams (default {DEFAULT_SIZES})")
    parser.add_argument(
        "--runs", type=int, default=DEFAULT_RUNS, help=f"runs per size (default {DEFAULT_RUNS})"
    )
    parser.add_argument("--root", default=str(REPO), help="kit tree to measure (default: this)")
    parser.add_argument("--python", help="interpreter (default: ROOT/.venv/bin/python)")
    parser.add_argument(
        "--write",
        default=str(REPO / "out" / "bench.md"),
        help="Markdown file for the tables, raw figures next to it as .json; '' for none",
    )
    parser.add_argument("--keep", help="keep stack files, plans and phase timings in this folder")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")

    result = measure(args)
    text = render(result)
    sys.stdout.write(text)
    if args.write:
        target = Path(args.write)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        target.with_suffix(".json").write_text(
            json.dumps(result, indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )
        print(f"\nwritten to {target} and {target.with_suffix('.json')}", file=sys.stderr)
    if not args.keep:
        import shutil

        shutil.rmtree(result["work"], ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
