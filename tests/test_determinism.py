"""The same configuration always yields byte-identical plans: no order, clock or chance."""

import json
import os
import re
import subprocess
import sys

import pytest

from paikit import documents
from paikit.plan import ROOT, available_stacks, render_json, run_program, stack_config

STACKS = available_stacks()
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}|\b1[6-9]\d{8}(\.\d+)?\b")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


@pytest.mark.parametrize("stack", STACKS)
def test_planning_twice_gives_byte_identical_json(stack):
    assert render_json(run_program(stack)) == render_json(run_program(stack))


def test_separate_processes_with_different_hash_seeds_print_the_same_plan():
    # Set and dict iteration order changes with the hash seed; nothing may depend on it.
    outputs = []
    for seed in ("1", "2024"):
        result = subprocess.run(
            [sys.executable, "-c", "import sys; from paikit import plan, snapshot; "
             "sys.stdout.write(plan.render_json(plan.run_program('prod')) + "
             "snapshot.render(snapshot.snapshot(plan.run_program('prod'))))"],
            cwd=ROOT,
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        outputs.append(result.stdout)
    assert outputs[0] == outputs[1]
    assert '"stack": "prod"' in outputs[0]


@pytest.mark.parametrize("stack", STACKS)
def test_inputs_hold_no_timestamps_or_random_values(stack):
    for resource in run_program(stack).resources:
        for text in _strings(resource.inputs):
            assert not TIMESTAMP.search(text), f"{resource.urn}: {text!r}"
            assert not UUID.search(text), f"{resource.urn}: {text!r}"


@pytest.mark.parametrize("stack", STACKS)
def test_json_documents_in_inputs_are_written_one_canonical_way(stack):
    plan = run_program(stack)
    for resource in plan.resources:
        if "policyDocument" in resource.inputs:
            text = resource.inputs["policyDocument"]
            assert text == documents.canonical_json(json.loads(text)), resource.urn
        if "options" in resource.inputs:
            text = resource.inputs["options"]
            assert text == json.dumps(json.loads(text), sort_keys=True), resource.urn


def _permuted(values, key):
    items = json.loads(values[key])
    assert len(items) > 1, key
    return dict(values, **{key: json.dumps(list(reversed(items)))})


def test_order_free_lists_do_not_change_the_plan():
    _, values, _ = stack_config("prod")
    values = dict(values)
    values["pai-kit:easPolicyUsers"] = json.dumps(["zoe", "alice", "mo"])
    values["pai-kit:protectedEnvironments"] = json.dumps(["prod", "prod-eu"])
    baseline = render_json(run_program("prod", config=values))
    for key in ("pai-kit:tags", "pai-kit:easPolicyUsers", "pai-kit:protectedEnvironments"):
        permuted = _permuted(values, key)
        assert render_json(run_program("prod", config=permuted)) == baseline, key
    groups = dict(values, **{"pai-kit:easPolicyGroups": json.dumps(["ops", "pai-developers"])})
    reversed_groups = _permuted(groups, "pai-kit:easPolicyGroups")
    assert render_json(run_program("prod", config=groups)) == render_json(
        run_program("prod", config=reversed_groups)
    )
