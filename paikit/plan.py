"""Run the unchanged Pulumi program for a stack under Pulumi's mock engine and record its plan.

The stack's configuration is read the way the CLI reads it: ``Pulumi.<stack>.yaml`` over the
defaults that ``Pulumi.yaml`` declares. Encrypted (``secure:``) values cannot be read without
the stack's secrets provider, so they stand in as :data:`SECRET_PLACEHOLDER`.
"""

from __future__ import annotations

import json
import os
import runpy
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from paikit.config import SECRET_PLACEHOLDER

ROOT = Path(__file__).resolve().parent.parent


class StackFileError(Exception):
    """A project or stack file that is missing or cannot be read."""


@dataclass
class PlannedResource:
    """One registration as the engine receives it: camelCase inputs and resource options."""

    urn: str
    type: str
    name: str
    parent: str
    custom: bool
    inputs: dict[str, Any]
    id: str = ""
    protect: bool = False
    retain_on_delete: bool = False
    ignore_changes: list[str] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)
    dependencies: list[str] = field(default_factory=list)
    provider: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "parent": self.parent,
            "custom": self.custom,
            "id": self.id,
            "inputs": self.inputs,
            "options": {
                "protect": self.protect,
                "retainOnDelete": self.retain_on_delete,
                "ignoreChanges": self.ignore_changes,
                "aliases": self.aliases,
                "dependencies": self.dependencies,
            },
        }


@dataclass
class Plan:
    project: str
    stack: str
    config: dict[str, Any]
    secret_keys: list[str]
    resources: list[PlannedResource]
    outputs: dict[str, Any]


# --- configuration, as the CLI assembles it ---------------------------------------------------


def _read_yaml(path: Path, what: str) -> dict:
    if not path.is_file():
        raise StackFileError(f"{what} {path.name} not found in {path.parent}")
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" at line {where.line + 1}, column {where.column + 1}" if where else ""
        raise StackFileError(f"{what} {path.name} is not valid YAML{at}: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise StackFileError(f"{what} {path.name} cannot be read: {exc}") from None
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise StackFileError(f"{what} {path.name} must hold a mapping at its top level")
    return document


def available_stacks(root: Path = ROOT) -> list[str]:
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in root.glob("Pulumi.*.yaml"))


def _engine_string(value: Any) -> str:
    """Config values reach a program as strings; structured ones as JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"))


def stack_config(
    stack: str, root: Path = ROOT, stack_file: Path | None = None
) -> tuple[str, dict[str, str], list[str]]:
    """The project name, the full ``namespace:key`` config map and the secret keys.

    ``stack_file`` replaces ``Pulumi.<stack>.yaml``, for stacks generated on the fly.
    """
    project_file = _read_yaml(root / "Pulumi.yaml", "project file")
    project = project_file.get("name")
    if not isinstance(project, str) or not project:
        raise StackFileError("project file Pulumi.yaml has no name")
    stack_path = stack_file or root / f"Pulumi.{stack}.yaml"
    if not stack_path.is_file():
        known = ", ".join(available_stacks(root)) or "none"
        raise StackFileError(f"stack file {stack_path.name} not found; stacks here: {known}")
    stack_file = _read_yaml(stack_path, "stack file")

    values: dict[str, str] = {}
    for key, declaration in (project_file.get("config") or {}).items():
        full_key = key if ":" in key else f"{project}:{key}"
        if isinstance(declaration, Mapping):
            if "default" in declaration:
                values[full_key] = _engine_string(declaration["default"])
            elif "value" in declaration:
                values[full_key] = _engine_string(declaration["value"])
        else:
            values[full_key] = _engine_string(declaration)

    secret_keys = []
    stack_values = stack_file.get("config") or {}
    if not isinstance(stack_values, Mapping):
        raise StackFileError(f"stack file {stack_path.name}: 'config' must be a mapping")
    for key, value in stack_values.items():
        full_key = key if ":" in key else f"{project}:{key}"
        if isinstance(value, Mapping) and set(value) == {"secure"}:
            values[full_key] = SECRET_PLACEHOLDER
            secret_keys.append(full_key)
        else:
            values[full_key] = _engine_string(value)
    return project, dict(sorted(values.items())), sorted(secret_keys)


# --- running the program ----------------------------------------------------------------------


def _recording_monitor(mocks):
    from pulumi.runtime import rpc
    from pulumi.runtime.mocks import MockMonitor

    class RecordingMonitor(MockMonitor):
        """The mock monitor, keeping every registration's inputs and options."""

        def __init__(self, mocks):
            super().__init__(mocks)
            self.planned: list[PlannedResource] = []

        def RegisterResource(self, request):
            response = super().RegisterResource(request)
            if request.type != "pulumi:pulumi:Stack":
                inputs = rpc.deserialize_properties(request.object)
                self.planned.append(
                    PlannedResource(
                        urn=response.urn,
                        type=request.type,
                        name=request.name,
                        parent=request.parent,
                        custom=request.custom,
                        inputs=_plain(inputs),
                        id=response.id,
                        protect=bool(request.protect),
                        retain_on_delete=bool(request.retainOnDelete),
                        ignore_changes=sorted(request.ignoreChanges),
                        aliases=sorted(a.urn or a.spec.name for a in request.aliases),
                        dependencies=sorted(request.dependencies),
                        provider=request.provider,
                    )
                )
            return response

    return RecordingMonitor(mocks)


def _plain(value: Any) -> Any:
    """Inputs as JSON-ready data, with internal ``__`` keys dropped."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items() if not str(k).startswith("__")}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)  # the wire carries every number as a double
    return value


def tree_order(resources: list[PlannedResource]) -> list[PlannedResource]:
    """Parents before children, siblings by name: the same order whatever the engine's timing."""
    children: dict[str, list[PlannedResource]] = {}
    urns = {r.urn for r in resources}
    for resource in resources:
        parent = resource.parent if resource.parent in urns else ""
        children.setdefault(parent, []).append(resource)
    ordered: list[PlannedResource] = []

    def visit(parent: str) -> None:
        for child in sorted(children.get(parent, []), key=lambda r: (r.custom, r.name)):
            ordered.append(child)
            visit(child.urn)

    visit("")
    return ordered


def run_program(
    stack: str,
    root: Path = ROOT,
    *,
    config: Mapping[str, str] | None = None,
    secret_keys: list[str] | None = None,
    stack_file: Path | None = None,
    mocks=None,
) -> Plan:
    """Plan ``stack``: run ``__main__.py`` under the mock engine and collect what it registers.

    Raises :class:`StackFileError` for unreadable stack files and ``pulumi.RunError`` for
    configuration the kit refuses.
    """
    import pulumi
    from pulumi.runtime import settings as runtime_settings
    from pulumi.runtime import stack as runtime_stack
    from pulumi.runtime.sync_await import _sync_await

    from paikit.mocks import AlicloudMocks

    project, file_config, file_secrets = stack_config(stack, root, stack_file)
    if config is None:
        config, secret_keys = file_config, file_secrets
    secret_keys = secret_keys or []
    region = config.get("alicloud:region", "cn-hangzhou")
    monitor = _recording_monitor(mocks or AlicloudMocks(region))

    runtime_settings.ROOT.set(None)
    pulumi.runtime.set_all_config(dict(config), list(secret_keys))
    pulumi.runtime.set_mocks(
        monitor.mocks, project=project, stack=stack, preview=False, monitor=monitor
    )
    program = root / "__main__.py"
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    _sync_await(
        runtime_stack.run_pulumi_func(lambda: runpy.run_path(str(program), run_name="__main__"))
    )
    stack_resource = runtime_settings.get_root_resource()
    raw_outputs = dict(getattr(stack_resource, "outputs", {}) or {})
    outputs = _sync_await(pulumi.Output.from_input(raw_outputs).future()) or {}
    return Plan(
        project=project,
        stack=stack,
        config=dict(config),
        secret_keys=list(secret_keys),
        resources=tree_order(monitor.planned),
        outputs=_plain(outputs),
    )


# --- printing ---------------------------------------------------------------------------------

_KEY_INPUTS = (
    "bucket", "policyName", "userName", "groupName", "serviceName", "storageType",
    "encryptType", "zoneId", "accessGroupName", "sourceCidrIp", "fileSystemType", "cidrBlock",
    "acl", "blockPublicAccess", "responseVary", "rotateStrategy", "datasetName", "uri",
    "forceDestroy", "redundancyType",
)  # fmt: skip


def _short_type(token: str) -> str:
    return token.split(":")[-1] if token.startswith("alicloud:") else token


def _short_parent(urn: str) -> str:
    return urn.rsplit("::", 1)[-1] if urn else ""


def describe(resource: PlannedResource) -> list[str]:
    """Human-readable lines for one resource: type, name, parent, key inputs and options."""
    head = f"+ {_short_type(resource.type):<26} {resource.name}"
    parent = _short_parent(resource.parent)
    if parent and parent != resource.name:
        head += f"  (in {parent})"
    flags = [
        f
        for f, on in (
            ("protect", resource.protect),
            ("retain-on-delete", resource.retain_on_delete),
        )
        if on
    ]
    if flags:
        head += f"  [{', '.join(flags)}]"
    lines = [head]
    inputs = resource.inputs
    for key in _KEY_INPUTS:
        if key in inputs:
            lines.append(f"      {key}: {json.dumps(inputs[key])}")
    if "serverSideEncryptionRule" in inputs:
        rule = inputs["serverSideEncryptionRule"]
        lines.append(f"      encryption: {rule.get('sseAlgorithm')}")
    if "versioning" in inputs:
        lines.append(f"      versioning: {inputs['versioning'].get('status')}")
    for index, rule in enumerate(inputs.get("corsRules") or [], start=1):
        lines.append(
            f"      corsRule {index}: {', '.join(rule.get('allowedMethods', []))} from "
            f"{', '.join(rule.get('allowedOrigins', []))}"
        )
    if "policyDocument" in inputs:
        lines.append(f"      policyDocument: {inputs['policyDocument']}")
    if resource.ignore_changes:
        lines.append(f"      ignoreChanges: {', '.join(resource.ignore_changes)}")
    return lines


def render_text(plan: Plan) -> str:
    lines = [f"Plan for stack {plan.stack} of {plan.project} (offline, mock engine)", ""]
    if plan.secret_keys:
        lines.append(f"secret config, shown as {SECRET_PLACEHOLDER}: {', '.join(plan.secret_keys)}")
        lines.append("")
    for resource in plan.resources:
        lines.extend(describe(resource))
    custom = sum(r.custom for r in plan.resources)
    lines += [
        "",
        f"{len(plan.resources)} resources ({custom} cloud, "
        f"{len(plan.resources) - custom} components)",
        "",
        "Outputs:",
    ]
    for key, value in sorted(plan.outputs.items()):
        text = value if isinstance(value, str) else json.dumps(value, indent=2, sort_keys=True)
        if "\n" in text:
            lines.append(f"  {key}:")
            lines.extend(f"    {line}" for line in text.splitlines())
        else:
            lines.append(f"  {key}: {text}")
    return "\n".join(lines) + "\n"


def render_json(plan: Plan) -> str:
    document = {
        "project": plan.project,
        "stack": plan.stack,
        "secretKeys": plan.secret_keys,
        "resources": [r.to_json() for r in plan.resources],
        "outputs": plan.outputs,
    }
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="kit plan",
        description="Show what `pulumi up` would be asked to create for a stack, offline.",
    )
    parser.add_argument("stack", nargs="?", default="dev", help="stack name (default: dev)")
    parser.add_argument("--json", action="store_true", help="print the plan as JSON")
    parser.add_argument(
        "--stack-file", type=Path, help="read this file instead of Pulumi.<stack>.yaml"
    )
    args = parser.parse_args(argv)

    import pulumi

    from paikit.config import ConfigError

    stack_file = args.stack_file.resolve() if args.stack_file else None
    os.chdir(ROOT)
    try:
        plan = run_program(args.stack, stack_file=stack_file)
    except StackFileError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except (pulumi.RunError, ConfigError) as err:
        print(f"error: stack {args.stack}: {err}", file=sys.stderr)
        return 2
    sys.stdout.write(render_json(plan) if args.json else render_text(plan))
    return 0


if __name__ == "__main__":
    sys.exit(main())
