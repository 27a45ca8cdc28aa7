"""Every committed stack matches its plan snapshot, and aliases keep URNs when code moves."""

import copy
import json
import shutil

import pytest

from paikit import plan as plan_module
from paikit import snapshot
from paikit.plan import ROOT, Plan, PlannedResource, available_stacks, run_program
from paikit.snapshot import AliasSpec

STACKS = available_stacks()
BUCKET = "alicloud:oss/bucket:Bucket"

# A program that moves the kit's data buckets under a new parent component and renames them;
# with ALIASES it tells the engine where each bucket used to be.
MOVED_BUCKETS_PROGRAM = """
import pulumi

from components.data_bucket import DataBucket
from paikit.runtime import read_settings

ALIASES = {aliases}
settings = read_settings()


class DataLake(pulumi.ComponentResource):
    def __init__(self, name, opts=None):
        super().__init__("paikit:storage:DataLake", name, None, opts)
        self.register_outputs({{}})


lake = DataLake("data-lake")
for index, bucket in enumerate(settings.buckets):
    DataBucket(
        f"bucket-{{index}}",
        bucket,
        tags=dict(settings.tags),
        protected=settings.protected,
        access_log_bucket=settings.access_log_bucket,
        opts=pulumi.ResourceOptions(
            parent=lake,
            aliases=[pulumi.Alias(name=bucket.name, parent=None)] if ALIASES else [],
        ),
    )
"""


@pytest.fixture(scope="module")
def plans():
    return {stack: run_program(stack) for stack in STACKS}


def _committed(stack):
    return snapshot.path_for(stack).read_text(encoding="utf-8")


@pytest.mark.parametrize("stack", STACKS)
def test_the_plan_matches_the_committed_snapshot(plans, stack):
    fresh = snapshot.render(snapshot.snapshot(plans[stack]))
    committed = _committed(stack)
    changes = snapshot.differences(json.loads(committed), json.loads(fresh))
    assert fresh == committed, (
        f"stack {stack} left tests/snapshots/{stack}.json: "
        + "; ".join(changes or ["layout only"])
        + ". If this is intended, run ./kit snapshot and commit the result."
    )


def test_every_stack_has_a_snapshot_and_every_snapshot_a_stack():
    assert sorted(p.stem for p in snapshot.SNAPSHOT_DIR.glob("*.json")) == STACKS


@pytest.mark.parametrize("stack", STACKS)
def test_snapshots_pin_every_data_bearing_resource_with_its_protection(plans, stack):
    document = json.loads(_committed(stack))
    data = [r for r in plans[stack].resources if r.type in snapshot.DATA_BEARING_TYPES]
    assert len(document["dataBearing"]) == len(data) > 0
    for urn, entry in document["dataBearing"].items():
        assert urn in document["urns"]
        assert entry["type"] == snapshot.urn_type(urn)
        assert entry["inputs"]
        assert entry["protect"] == entry["retainOnDelete"] == plans[stack].outputs["protected"]


@pytest.mark.parametrize("stack", STACKS)
def test_engine_urns_are_unique_and_carry_the_whole_parent_chain(plans, stack):
    urns = snapshot.engine_urns(plans[stack])
    assert len(set(urns.values())) == len(urns)
    [file_system] = [u for u in urns.values() if snapshot.urn_name(u) == "dsw-shared-fs"]
    assert snapshot.qualified_type(file_system) == (
        "paikit:dsw:DswStorage$paikit:dsw:NasVolume$alicloud:nas/fileSystem:FileSystem"
    )
    assert file_system.startswith(f"urn:pulumi:{stack}::pai-kit::")


def test_a_changed_data_input_or_a_renamed_resource_is_reported(plans):
    committed = json.loads(_committed("prod"))
    changed = copy.deepcopy(committed)
    [bucket_urn] = [u for u in changed["dataBearing"] if u.endswith("::acme-pai-prod-data-bucket")]
    changed["dataBearing"][bucket_urn]["inputs"]["storageClass"] = "IA"
    changed["dataBearing"][bucket_urn]["retainOnDelete"] = False
    renamed = bucket_urn.replace("acme-pai-prod-data-bucket", "data-bucket")
    changed["urns"] = sorted({*changed["urns"], renamed} - {bucket_urn})
    assert snapshot.differences(committed, changed) == [
        f"resource gone (the engine would delete it): {bucket_urn}",
        f"new resource: {renamed}",
        "data-bearing acme-pai-prod-data-bucket changed at inputs.storageClass",
        "data-bearing acme-pai-prod-data-bucket changed at retainOnDelete",
    ]
    assert snapshot.differences(committed, committed) == []


def test_the_snapshot_command_checks_and_rewrites(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(snapshot, "SNAPSHOT_DIR", tmp_path)
    monkeypatch.setattr(snapshot, "path_for", lambda stack: tmp_path / f"{stack}.json")
    assert snapshot.main(["dev"]) == 1
    assert "dev: no snapshot" in capsys.readouterr().out
    assert snapshot.main(["dev", "--update"]) == 0
    assert (tmp_path / "dev.json").read_text() == _committed("dev")
    assert snapshot.main(["dev"]) == 0
    assert "dev: snapshot up to date" in capsys.readouterr().out


# --- aliases ----------------------------------------------------------------------------------


def _plan_moved_buckets(tmp_path, monkeypatch, *, aliases):
    """Plan prod with the buckets moved and renamed; return the plan and its alias specs."""
    for name in ("Pulumi.yaml", "Pulumi.prod.yaml"):
        shutil.copy(ROOT / name, tmp_path / name)
    (tmp_path / "__main__.py").write_text(MOVED_BUCKETS_PROGRAM.format(aliases=aliases))
    specs = {}
    recording_monitor = plan_module._recording_monitor

    def capturing_monitor(mocks):
        monitor = recording_monitor(mocks)
        register = monitor.RegisterResource

        def register_resource(request):
            response = register(request)
            specs[response.urn] = [AliasSpec.from_proto(a) for a in request.aliases]
            return response

        monitor.RegisterResource = register_resource
        return monitor

    monkeypatch.setattr(plan_module, "_recording_monitor", capturing_monitor)
    return run_program("prod", tmp_path), specs


def _bucket_urns(stack):
    return [
        u
        for u in json.loads(_committed(stack))["urns"]
        if snapshot.qualified_type(u).startswith("paikit:storage:DataBucket")
    ]


def test_aliases_keep_the_snapshot_urns_of_moved_and_renamed_buckets(tmp_path, monkeypatch):
    moved, specs = _plan_moved_buckets(tmp_path, monkeypatch, aliases=True)
    old = _bucket_urns("prod")
    taken = snapshot.match_old_urns(moved, specs, old)
    buckets = [u for u in taken if snapshot.urn_type(u) == BUCKET]
    assert len(buckets) == 2
    for urn in buckets:
        assert urn not in old  # really moved: a new URN
        assert taken[urn] in old  # and still the same bucket to the engine
    assert sorted(u for u in taken.values() if u) == sorted(old)
    creates = [u for u, o in taken.items() if o is None]
    assert [snapshot.urn_type(u) for u in creates] == ["paikit:storage:DataLake"]


def test_without_aliases_the_moved_buckets_would_be_replaced(tmp_path, monkeypatch):
    moved, specs = _plan_moved_buckets(tmp_path, monkeypatch, aliases=False)
    taken = snapshot.match_old_urns(moved, specs, _bucket_urns("prod"))
    assert set(taken.values()) == {None}


def _resource(urn, type_, name, parent=""):
    return PlannedResource(urn=urn, type=type_, name=name, parent=parent, custom=True, inputs={})


def test_a_type_alias_on_a_renamed_component_carries_its_children():
    # Recorded URNs are opaque keys here; only names, types and parents count.
    component = _resource("c", "paikit:storage:PaiBucket", "acme-data")
    child = _resource("b", BUCKET, "acme-data-bucket", parent="c")
    plan = Plan("pai-kit", "prod", {}, [], [component, child], {})
    old_component = "urn:pulumi:prod::pai-kit::paikit:storage:DataBucket::acme-data"
    old_child = (
        "urn:pulumi:prod::pai-kit::paikit:storage:DataBucket$alicloud:oss/bucket:Bucket"
        "::acme-data-bucket"
    )
    aliases = {"c": [AliasSpec(type="paikit:storage:DataBucket")]}
    taken = snapshot.match_old_urns(plan, aliases, [old_component, old_child])
    assert sorted(taken.values()) == sorted([old_component, old_child])
    assert snapshot.match_old_urns(plan, {}, [old_component, old_child]) == {
        "urn:pulumi:prod::pai-kit::paikit:storage:PaiBucket::acme-data": None,
        "urn:pulumi:prod::pai-kit::paikit:storage:PaiBucket$alicloud:oss/bucket:Bucket"
        "::acme-data-bucket": None,
    }


def test_engine_urns_skip_the_root_stack_and_qualify_by_the_parent_chain():
    assert snapshot.new_urn("s", "p", "", "a:b:C", "n") == "urn:pulumi:s::p::a:b:C::n"
    assert snapshot.new_urn("s", "p", "pulumi:pulumi:Stack", "a:b:C", "n") == (
        "urn:pulumi:s::p::a:b:C::n"
    )
    assert snapshot.new_urn("s", "p", "x:y:P$x:y:Q", "a:b:C", "n") == (
        "urn:pulumi:s::p::x:y:P$x:y:Q$a:b:C::n"
    )
