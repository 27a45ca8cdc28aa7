"""Plan snapshots: what the engine would call each resource, and what the data rests on.

A snapshot (``tests/snapshots/<stack>.json``) holds, for one committed stack, the URN of every
resource and, for each data-bearing resource (OSS bucket, NAS file system, the EAS
service-linked role), its inputs and its protection. The engine matches old and new resources
by URN, or by an alias the program declares: a changed URN without an alias is a delete and a
create, and for a bucket a delete is the data gone. So the test suite fails whenever a plan
leaves its snapshot, until the snapshot is rewritten on purpose with ``./kit snapshot``.

URNs here are the engine's, not the mock monitor's: the engine qualifies a type by the whole
chain of parent types below the stack, where the mock takes only the nearest parent, so moving
a component one level would escape a snapshot of mock URNs. Alias resolution follows the
engine's rules too, so a test can prove that an alias keeps an old URN.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from paikit.plan import ROOT, Plan, PlannedResource, StackFileError, available_stacks

SNAPSHOT_DIR = ROOT / "tests" / "snapshots"
ROOT_STACK_TYPE = "pulumi:pulumi:Stack"
DATA_BEARING_TYPES = (
    "alicloud:oss/bucket:Bucket",
    "alicloud:nas/fileSystem:FileSystem",
    "alicloud:resourcemanager/serviceLinkedRole:ServiceLinkedRole",
)


# --- URNs, as the engine forms them -----------------------------------------------------------


def new_urn(stack: str, project: str, parent_type: str, type_: str, name: str) -> str:
    """The URN of ``name``; ``parent_type`` is the parent's qualified type, or empty."""
    qualified = type_
    if parent_type and parent_type != ROOT_STACK_TYPE:
        qualified = f"{parent_type}${type_}"
    return f"urn:pulumi:{stack}::{project}::{qualified}::{name}"


def qualified_type(urn: str) -> str:
    return urn.split("::")[2]


def urn_type(urn: str) -> str:
    return qualified_type(urn).rsplit("$", 1)[-1]


def urn_name(urn: str) -> str:
    return urn.split("::", 3)[3]


def engine_urns(plan: Plan) -> dict[str, str]:
    """Each planned resource's recorded URN mapped to the URN the engine gives it."""
    by_urn = {r.urn: r for r in plan.resources}
    if len(by_urn) != len(plan.resources):
        raise ValueError(f"stack {plan.stack}: two resources share a recorded URN")
    result: dict[str, str] = {}

    def resolve(resource: PlannedResource) -> str:
        if resource.urn not in result:
            parent = by_urn.get(resource.parent)
            parent_type = qualified_type(resolve(parent)) if parent else ""
            result[resource.urn] = new_urn(
                plan.stack, plan.project, parent_type, resource.type, resource.name
            )
        return result[resource.urn]

    for resource in plan.resources:
        resolve(resource)
    return result


# --- aliases, as the engine resolves them -----------------------------------------------------


@dataclass(frozen=True)
class AliasSpec:
    """One alias as a program sends it: a whole URN, or the parts that differ."""

    urn: str = ""
    name: str = ""
    type: str = ""
    stack: str = ""
    project: str = ""
    parent_urn: str = ""
    no_parent: bool = False

    @classmethod
    def from_proto(cls, alias: Any) -> AliasSpec:
        """From the ``pulumirpc.Alias`` message of a RegisterResource request."""
        if alias.urn:
            return cls(urn=alias.urn)
        spec = alias.spec
        return cls(
            name=spec.name,
            type=spec.type,
            stack=spec.stack,
            project=spec.project,
            parent_urn=spec.parentUrn,
            no_parent=spec.noParent,
        )


def match_old_urns(
    plan: Plan, aliases: Mapping[str, Sequence[AliasSpec]], old_urns: Iterable[str]
) -> dict[str, str | None]:
    """For each resource (by engine URN), the old URN it takes over, or None for a create.

    ``aliases`` maps recorded URNs to the alias specs registered with them. The rules are the
    engine's: the URN itself first, then each alias; an alias spec falls back to the
    resource's own name, type and parent; children inherit the alias their parent matched, with
    the parent's old name swapped into a name that starts with the parent's new one.
    """
    old = set(old_urns)
    engine = engine_urns(plan)
    by_urn = {r.urn: r for r in plan.resources}
    matched_alias: dict[str, str] = {}  # engine URN -> old URN, where an alias matched
    result: dict[str, str | None] = {}

    for resource in plan.resources:  # parents come before their children
        urn = engine[resource.urn]
        parent = by_urn.get(resource.parent)
        parent_urn = engine[parent.urn] if parent else ""
        own = [
            _collapse(spec, resource, parent_urn, plan, engine, matched_alias)
            for spec in aliases.get(resource.urn, ())
        ]
        candidates = list(own)
        if parent_urn in matched_alias:
            parent_alias, parent_name = matched_alias[parent_urn], urn_name(parent_urn)
            candidates.append(_inherit(resource.type, resource.name, parent_name, parent_alias))
            candidates += [
                _inherit(urn_type(c), urn_name(c), parent_name, parent_alias) for c in own
            ]
        found = next((c for c in [urn, *candidates] if c in old), None)
        if found is not None and found != urn:
            matched_alias[urn] = found
        result[urn] = found
    return result


def _collapse(
    spec: AliasSpec,
    resource: PlannedResource,
    parent_urn: str,
    plan: Plan,
    engine: Mapping[str, str],
    matched_alias: Mapping[str, str],
) -> str:
    if spec.urn:
        return engine.get(spec.urn, spec.urn)
    parent = parent_urn
    if spec.parent_urn:
        parent = engine.get(spec.parent_urn, spec.parent_urn)
        parent = matched_alias.get(parent, parent)
    if spec.no_parent or (parent and qualified_type(parent) == ROOT_STACK_TYPE):
        parent = ""
    return new_urn(
        spec.stack or plan.stack,
        spec.project or plan.project,
        qualified_type(parent) if parent else "",
        spec.type or resource.type,
        spec.name or resource.name,
    )


def _inherit(child_type: str, child_name: str, parent_name: str, parent_alias: str) -> str:
    name = child_name
    if child_name.startswith(parent_name):
        name = urn_name(parent_alias) + child_name[len(parent_name) :]
    stack, project = parent_alias.removeprefix("urn:pulumi:").split("::")[:2]
    return new_urn(stack, project, qualified_type(parent_alias), child_type, name)


# --- snapshots --------------------------------------------------------------------------------


def snapshot(plan: Plan) -> dict[str, Any]:
    """The parts of a plan a snapshot pins: every URN, and the data-bearing resources whole."""
    engine = engine_urns(plan)
    data = {
        engine[r.urn]: {
            "type": r.type,
            "inputs": r.inputs,
            "protect": r.protect,
            "retainOnDelete": r.retain_on_delete,
        }
        for r in plan.resources
        if r.type in DATA_BEARING_TYPES
    }
    return {
        "project": plan.project,
        "stack": plan.stack,
        "urns": sorted(engine.values()),
        "dataBearing": dict(sorted(data.items())),
    }


def render(document: Mapping[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def path_for(stack: str, directory: Path = SNAPSHOT_DIR) -> Path:
    return directory / f"{stack}.json"


def differences(expected: Mapping[str, Any], actual: Mapping[str, Any]) -> list[str]:
    """What changed between a committed snapshot and a fresh one, one line each."""
    lines = []
    old_urns, new_urns = set(expected.get("urns", [])), set(actual.get("urns", []))
    lines += [
        f"resource gone (the engine would delete it): {u}" for u in sorted(old_urns - new_urns)
    ]
    lines += [f"new resource: {u}" for u in sorted(new_urns - old_urns)]
    old_data, new_data = expected.get("dataBearing", {}), actual.get("dataBearing", {})
    for urn in sorted(set(old_data) & set(new_data)):
        for path in _changed_paths(old_data[urn], new_data[urn]):
            lines.append(f"data-bearing {urn_name(urn)} changed at {path}")
    for key in ("project", "stack"):
        if expected.get(key) != actual.get(key):
            lines.append(f"{key}: {expected.get(key)!r} -> {actual.get(key)!r}")
    return lines


def _changed_paths(old: Any, new: Any, path: str = "") -> list[str]:
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        changed = []
        for key in sorted(set(old) | set(new)):
            sub = f"{path}.{key}" if path else key
            if key not in old or key not in new:
                changed.append(sub)
            else:
                changed += _changed_paths(old[key], new[key], sub)
        return changed
    return [] if old == new else [path or "(root)"]


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def plan_stack(stack: str, root: Path = ROOT) -> Plan:
    from paikit.plan import run_program

    return run_program(stack, root)


def main(argv: list[str] | None = None) -> int:
    import argparse

    import pulumi

    from paikit.config import ConfigError

    parser = argparse.ArgumentParser(
        prog="kit snapshot",
        description="Compare each committed stack's plan with its snapshot, or rewrite them.",
    )
    parser.add_argument("stacks", nargs="*", help="stacks to cover (default: every stack)")
    parser.add_argument(
        "--update", action="store_true", help="write the snapshots from the current plans"
    )
    args = parser.parse_args(argv)

    stacks = args.stacks or available_stacks()
    status = 0
    for stack in stacks:
        try:
            fresh = render(snapshot(plan_stack(stack)))
        except StackFileError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        except (pulumi.RunError, ConfigError) as err:
            print(f"error: stack {stack}: {err}", file=sys.stderr)
            return 2
        target = path_for(stack)
        current = target.read_text(encoding="utf-8") if target.is_file() else None
        if current == fresh:
            print(f"{stack}: snapshot up to date")
        elif args.update:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(fresh, encoding="utf-8")
            print(f"{stack}: wrote {_shown(target)}")
        elif current is None:
            status = 1
            print(f"{stack}: no snapshot at {_shown(target)}")
        else:
            status = 1
            print(f"{stack}: plan differs from {_shown(target)}")
            for line in differences(json.loads(current), json.loads(fresh)) or ["layout only"]:
                print(f"  {line}")
    if not args.stacks:
        for orphan in sorted(SNAPSHOT_DIR.glob("*.json")):
            if orphan.stem in stacks:
                continue
            if args.update:
                orphan.unlink()
                print(f"{orphan.stem}: removed {_shown(orphan)} (no such stack)")
            else:
                status = 1
                print(f"{orphan.stem}: snapshot {_shown(orphan)} has no stack file")
    if status:
        print("if the change is intended, rewrite the snapshots: ./kit snapshot", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
