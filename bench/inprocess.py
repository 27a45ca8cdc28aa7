"""Run the offline plan in this process and time its phases.

    python bench/inprocess.py ROOT OUT.json STACK [PLAN ARGS...]

Calls ``paikit.plan.main`` of the kit in ROOT with the given arguments, with timers around
the plan's pieces: reading the settings, the NAS zone invoke, the program, ordering,
rendering, and the policy review: every public function of ``policies.review`` (if any)
and every function of ``paikit.plan`` whose name mentions a review or a policy. Nested review
calls count once. Writes the seconds of each phase, the moments the kit was imported and the
first and last resource was registered, and the peak memory to OUT.json. The plan itself
goes to stdout as usual.
"""

from __future__ import annotations

import time

START = time.perf_counter()

import contextlib  # noqa: E402
import functools  # noqa: E402
import importlib  # noqa: E402
import inspect  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import types  # noqa: E402
from pathlib import Path  # noqa: E402

REVIEW_WORDS = ("review", "polic")
REVIEW_MODULE = "policies.review"


class Clock:
    """Seconds spent in each label (outermost calls only) and the first time of each mark."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self.depth: dict[str, int] = {}
        self.marks: dict[str, float] = {}
        self.outermost: dict[str, set[str]] = {}

    def mark(self, name: str) -> None:
        self.marks.setdefault(name, time.perf_counter() - START)

    def wrap(self, owner: object, attribute: str, label: str) -> None:
        original = getattr(owner, attribute)
        where = f"{getattr(owner, '__name__', owner)}.{attribute}"
        if getattr(original, "__bench_label__", None):
            return

        @functools.wraps(original)
        def timed(*args, **kwargs):
            depth = self.depth.get(label, 0)
            self.depth[label] = depth + 1
            if depth == 0:
                self.outermost.setdefault(label, set()).add(where)
            began = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.depth[label] = depth
                if depth == 0:
                    self.spent[label] = self.spent.get(label, 0.0) + time.perf_counter() - began
                    self.calls[label] = self.calls.get(label, 0) + 1

        timed.__bench_label__ = label
        setattr(owner, attribute, timed)


def _is_review_name(name: str) -> bool:
    return not name.startswith("__") and any(w in name.lower() for w in REVIEW_WORDS)


def own_functions(module: types.ModuleType) -> list[str]:
    """Public functions defined in ``module`` itself: the entries; their helpers count inside."""
    return sorted(
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and inspect.isfunction(value)
        and value.__module__ == module.__name__
    )


def wrap_review(clock: Clock, plan: types.ModuleType) -> list[str]:
    """Put the shared ``review`` timer on everything that looks like the policy review."""
    wrapped = []
    modules = []
    with contextlib.suppress(ImportError):
        modules.append(importlib.import_module(REVIEW_MODULE))
    for name, value in list(vars(plan).items()):
        if isinstance(value, types.ModuleType) and _is_review_name(name):
            modules.append(value)
        elif inspect.isfunction(value) and _is_review_name(name):
            clock.wrap(plan, name, "review")
            wrapped.append(f"{plan.__name__}.{name}")
    for module in modules:
        if not module.__name__.startswith(("policies", "paikit")):
            continue
        for name in own_functions(module):
            clock.wrap(module, name, "review")
            wrapped.append(f"{module.__name__}.{name}")
    return sorted(set(wrapped))


def main(argv: list[str]) -> int:
    if len(argv) < 3:
        print("usage: inprocess.py ROOT OUT.json STACK [PLAN ARGS...]", file=sys.stderr)
        return 2
    root, out, plan_args = Path(argv[0]).resolve(), Path(argv[1]).resolve(), argv[2:]
    sys.path.insert(0, str(root))
    clock = Clock()

    import pulumi  # noqa: F401
    from pulumi.runtime.mocks import MockMonitor

    clock.mark("imported pulumi")
    import paikit.plan as plan
    import paikit.runtime as kit_runtime

    clock.mark("imported kit")

    register = MockMonitor.RegisterResource

    def registering(self, request):
        clock.mark("first registration")
        response = register(self, request)
        clock.marks["last registration"] = time.perf_counter() - START
        return response

    MockMonitor.RegisterResource = registering
    for name, label in (("read_settings", "settings"), ("resolve_zone", "zone")):
        if hasattr(kit_runtime, name):
            clock.wrap(kit_runtime, name, label)
    for name in ("run_program", "tree_order", "render_json", "render_text"):
        if hasattr(plan, name):
            clock.wrap(plan, name, "program" if name == "run_program" else name)
    reviewed = wrap_review(clock, plan)

    status = plan.main(plan_args)
    sys.stdout.flush()
    finished = time.perf_counter() - START
    usage = resource.getrusage(resource.RUSAGE_SELF)
    report = {
        "status": status,
        "total": finished,
        "phases": clock.spent,
        "calls": clock.calls,
        "marks": clock.marks,
        "review_functions": reviewed,
        "review_entries": sorted(clock.outermost.get("review", ())),
        "maxrss_kib": usage.ru_maxrss,
    }
    out.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
