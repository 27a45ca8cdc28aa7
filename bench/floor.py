"""Pulumi's own floor: register a recorded plan's resources with no kit code and no policies.

    python bench/floor.py PLAN.json [--typed]

Reads a plan that ``python -m paikit.plan STACK --json`` printed and registers the same
resources (type, name, inputs, parent, protect, retainOnDelete, ignoreChanges) under Pulumi's
mock engine with a trivial :class:`pulumi.runtime.Mocks`, in the order of the plan.

By default components are plain ``pulumi.ComponentResource`` objects and cloud resources plain
``pulumi.CustomResource`` objects: no provider package is imported and what remains is the
engine's own cost. With ``--typed`` the cloud resources are the provider's own classes (the
token ``alicloud:oss/bucket:Bucket`` makes a ``pulumi_alicloud.oss.bucket.Bucket``), given the
same inputs as keyword arguments, and components are a bare ``ComponentResource`` subclass that
registers no outputs: what any program that uses the provider pays, still with no kit code.
Tokens with no provider class (explicit providers) stay plain ``CustomResource`` objects.

Now and then the interpreter prints "Exception ignored in BaseEventLoop.__del__ ... Invalid
file descriptor" at exit: the SDK's mock monitor leaves an event loop in each registration
thread, and the collector meets them after their pipes are gone. It does not touch the run.
"""

from __future__ import annotations

import importlib
import json
import re
import sys
from typing import Any

# Inputs whose values are the user's own maps: their keys are data, not property names.
USER_MAPS = frozenset({"tags"})
_CAPITAL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def snake(name: str) -> str:
    return _CAPITAL.sub("_", name).lower()


def keyword_arguments(inputs: dict[str, Any]) -> dict[str, Any]:
    """Engine inputs (camelCase, nested) as a provider class takes them (snake_case)."""

    def convert(value: Any) -> Any:
        if isinstance(value, dict):
            return {snake(k): convert(v) for k, v in value.items()}
        if isinstance(value, list):
            return [convert(v) for v in value]
        return value

    return {
        snake(key): value if key in USER_MAPS else convert(value) for key, value in inputs.items()
    }


def provider_class(token: str) -> type | None:
    """``alicloud:oss/bucketCors:BucketCors`` -> ``pulumi_alicloud.oss.bucket_cors.BucketCors``;
    None for tokens of no provider module (``pulumi:providers:...``)."""
    provider, module, class_name = token.split(":")
    package, _, file_name = module.partition("/")
    if not file_name:
        return None
    path = f"pulumi_{provider.replace('-', '_')}.{package}.{snake(file_name)}"
    try:
        return getattr(importlib.import_module(path), class_name)
    except (ImportError, AttributeError):
        return None


def main(argv: list[str]) -> int:
    typed = "--typed" in argv
    paths = [a for a in argv if a != "--typed"]
    if len(paths) != 1:
        print("usage: floor.py PLAN.json [--typed]", file=sys.stderr)
        return 2
    with open(paths[0], encoding="utf-8") as handle:
        plan = json.load(handle)

    import pulumi
    from pulumi.runtime import settings as runtime_settings
    from pulumi.runtime import stack as runtime_stack
    from pulumi.runtime.sync_await import _sync_await

    class TrivialMocks(pulumi.runtime.Mocks):
        def new_resource(self, args: pulumi.runtime.MockResourceArgs):
            return f"{args.name}-id", args.inputs

        def call(self, args: pulumi.runtime.MockCallArgs):
            return {}

    class Component(pulumi.ComponentResource):
        def __init__(self, token: str, name: str, opts: pulumi.ResourceOptions) -> None:
            super().__init__(token, name, None, opts)

    runtime_settings.ROOT.set(None)
    pulumi.runtime.set_all_config({}, [])
    pulumi.runtime.set_mocks(
        TrivialMocks(), project=plan["project"], stack=plan["stack"], preview=False
    )

    def program() -> None:
        # The plan lists parents before children, so every parent exists when it is needed.
        created: dict[str, pulumi.Resource] = {}
        for entry in plan["resources"]:
            options = entry["options"]
            opts = pulumi.ResourceOptions(
                parent=created.get(entry["parent"]),
                protect=options["protect"],
                retain_on_delete=options["retainOnDelete"],
                ignore_changes=options["ignoreChanges"] or None,
            )
            token, name, inputs = entry["type"], entry["name"], entry["inputs"]
            if not entry["custom"]:
                resource = (Component if typed else pulumi.ComponentResource)(
                    token, name, *(() if typed else (None,)), opts
                )
            elif typed and (cls := provider_class(token)) is not None:
                resource = cls(name, opts, **keyword_arguments(inputs))
            else:
                resource = pulumi.CustomResource(token, name, dict(inputs), opts)
            created[entry["urn"]] = resource

    _sync_await(runtime_stack.run_pulumi_func(program))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
