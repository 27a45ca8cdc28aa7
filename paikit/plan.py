"""Run the unchanged Pulumi program for a stack under Pulumi's mock engine and record its plan.

The stack's configuration is read the way the CLI reads it: ``Pulumi.<stack>.yaml`` over the
defaults that ``Pulumi.yaml`` declares. Encrypted (``secure:``) values cannot be read without
the stack's secrets provider, so they stand in as :data:`SECRET_PLACEHOLDER`.
"""

from __future__ import annotations

import gc
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


class _StackFileLoader(yaml.SafeLoader):
    """Safe YAML, read the way the Pulumi CLI reads it: a key appears once, dates stay text."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
            except TypeError:
                continue  # an unhashable key; the base class reports it
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping", node.start_mark, f"duplicate key {key!r}",
                    key_node.start_mark,
                )  # fmt: skip
            seen.add(key)
        return super().construct_mapping(node, deep)


_StackFileLoader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if not tag.endswith(":timestamp")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
# Aliases can make a few lines expand into billions of values; no stack file needs this many.
MAX_YAML_VALUES = 100_000


def _read_yaml(path: Path, what: str) -> dict:
    if not path.is_file():
        raise StackFileError(f"{what} {path.name} not found in {path.parent}")
    try:
        document = yaml.load(path.read_text(encoding="utf-8"), Loader=_StackFileLoader)
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" at line {where.line + 1}, column {where.column + 1}" if where else ""
        problem = getattr(exc, "problem", None) or exc
        raise StackFileError(f"{what} {path.name} is not valid YAML{at}: {problem}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise StackFileError(f"{what} {path.name} cannot be read: {exc}") from None
    except RecursionError:
        raise StackFileError(f"{what} {path.name} is nested too deeply") from None
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise StackFileError(f"{what} {path.name} must hold a mapping at its top level")
    pending, count = [document], 0
    while pending:
        value = pending.pop()
        count += 1
        if count > MAX_YAML_VALUES:
            raise StackFileError(
                f"{what} {path.name} expands to more than {MAX_YAML_VALUES} values "
                "(through YAML aliases?)"
            )
        if isinstance(value, dict):
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
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

    def entries(document: dict, name: str) -> list[tuple[str, Any]]:
        section = document.get("config") or {}
        if not isinstance(section, Mapping):
            raise StackFileError(f"{name}: 'config' must be a mapping")
        for key in section:
            if not isinstance(key, str) or not key.strip(":"):
                raise StackFileError(f"{name}: config key {key!r} must be a name")
        return [(key if ":" in key else f"{project}:{key}", v) for key, v in section.items()]

    def engine_string(name: str, key: str, value: Any) -> str:
        try:
            return _engine_string(value)
        except (TypeError, ValueError, RecursionError):
            raise StackFileError(
                f"{name}: the value of {key} is not plain YAML data (text, numbers, true/false, "
                "lists and mappings)"
            ) from None

    values: dict[str, str] = {}
    for full_key, declaration in entries(project_file, "project file Pulumi.yaml"):
        if isinstance(declaration, Mapping):
            for field_name in ("default", "value"):
                if field_name in declaration:
                    values[full_key] = engine_string(
                        "project file Pulumi.yaml", full_key, declaration[field_name]
                    )
                    break
        else:
            values[full_key] = engine_string("project file Pulumi.yaml", full_key, declaration)

    secret_keys = []
    name = f"stack file {stack_path.name}"
    for full_key, value in entries(stack_file, name):
        if isinstance(value, Mapping) and set(value) == {"secure"}:
            values[full_key] = SECRET_PLACEHOLDER
            secret_keys.append(full_key)
        else:
            values[full_key] = engine_string(name, full_key, value)
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
    zone = config.get("pai-kit:networkZoneId") or None
    monitor = _recording_monitor(mocks or AlicloudMocks(region, configured_zone=zone))

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
    lines = [
        f"Plan for stack {plan.stack} of {plan.project} (offline, mock engine; ids, endpoints "
        "and the NAS zone offer are simulated)",
        "",
    ]
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


def render_json(plan: Plan, **extra: Any) -> str:
    document = {
        "project": plan.project,
        "stack": plan.stack,
        "secretKeys": plan.secret_keys,
        "resources": [r.to_json() for r in plan.resources],
        "outputs": plan.outputs,
        **extra,
    }
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


# --- policy review ----------------------------------------------------------------------------


def review_plan(plan: Plan, policy_config: Path | None = None):
    """The kit's policy pack evaluated offline against ``plan`` (see ``policies.review``).

    ``policy_config`` is a pack config file as ``pulumi preview --policy-pack-config`` takes it.
    Raises ``policies.review.PackConfigError`` for config the CLI would refuse.
    """
    from policies import review

    config = review.load_pack_config(policy_config) if policy_config else None
    return review.evaluate(
        plan.resources,
        stack=plan.stack,
        project=plan.project,
        region=plan.config.get("alicloud:region"),
        config=config,
    )


def write_review(
    review, plan: Plan, *, markdown: Path, sarif: Path, stack_file: Path | None = None
) -> None:
    """Write the review as Markdown and as SARIF; SARIF results point into the stack file."""
    from policies.review import render_markdown, render_sarif

    artifact = (stack_file or ROOT / f"Pulumi.{plan.stack}.yaml").resolve()
    try:
        uri = artifact.relative_to(ROOT).as_posix()
    except ValueError:
        uri = artifact.as_uri()
    text = artifact.read_text(encoding="utf-8") if artifact.is_file() else ""
    document = render_sarif(review, artifact=uri, artifact_text=text)
    for path, content in (
        (markdown, render_markdown(review)),
        (sarif, json.dumps(document, indent=2) + "\n"),
    ):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="kit plan",
        description="Show what `pulumi up` would be asked to create for a stack, offline, and "
        "review it with the kit's policy pack. Exits 1 on a mandatory violation, 2 on a "
        "configuration error.",
    )
    parser.add_argument("stack", nargs="?", default="dev", help="stack name (default: dev)")
    parser.add_argument("--json", action="store_true", help="print the plan as JSON")
    parser.add_argument(
        "--stack-file", type=Path, help="read this file instead of Pulumi.<stack>.yaml"
    )
    parser.add_argument(
        "--policy-config",
        type=Path,
        metavar="FILE",
        help="policy pack config (JSON), as `pulumi preview --policy-pack-config` takes it",
    )
    parser.add_argument(
        "--markdown",
        type=Path,
        metavar="FILE",
        help="write the review as Markdown here (default: out/review-STACK.md)",
    )
    parser.add_argument(
        "--sarif",
        type=Path,
        metavar="FILE",
        help="write the review as SARIF 2.1.0 here (default: out/review-STACK.sarif)",
    )
    parser.add_argument(
        "--no-review", action="store_true", help="print the plan only, without the policy review"
    )
    args = parser.parse_args(argv)

    import pulumi

    from paikit.config import ConfigError
    from policies.review import PackConfigError
    from policies.review import render_text as render_review

    stack_file = args.stack_file.resolve() if args.stack_file else None
    policy_config = args.policy_config.resolve() if args.policy_config else None
    out = ROOT / "out"
    markdown = (args.markdown or out / f"review-{args.stack}.md").resolve()
    sarif = (args.sarif or out / f"review-{args.stack}.sarif").resolve()
    os.chdir(ROOT)
    # The engine keeps every resource, output and task alive until the run ends, so with the
    # default thresholds the collector walks that growing heap again and again and finds
    # nothing: a third of a large plan. This process is short-lived; collect rarely.
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    try:
        plan = run_program(args.stack, stack_file=stack_file)
    except StackFileError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except (pulumi.RunError, ConfigError) as err:
        print(f"error: stack {args.stack}: {err}", file=sys.stderr)
        return 2
    if args.no_review:
        sys.stdout.write(render_json(plan) if args.json else render_text(plan))
        return 0
    try:
        review = review_plan(plan, policy_config)
    except PackConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    try:
        write_review(review, plan, markdown=markdown, sarif=sarif, stack_file=stack_file)
    except OSError as err:
        print(f"error: cannot write the review: {err}", file=sys.stderr)
        return 2
    if args.json:
        sys.stdout.write(render_json(plan, review=review.to_json()))
    else:
        sys.stdout.write(render_text(plan) + "\n" + render_review(review))
    shown = [
        str(p.relative_to(ROOT)) if p.is_relative_to(ROOT) else str(p) for p in (markdown, sarif)
    ]
    print(f"review written to {shown[0]} and {shown[1]}", file=sys.stderr)
    return 1 if review.blocked else 0


if __name__ == "__main__":
    sys.exit(main())
