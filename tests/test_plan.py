"""The offline plan: every committed stack, and what the kit must never emit."""

import json
import subprocess
import sys

import pulumi
import pytest

from paikit import cors, documents
from paikit.plan import ROOT, SECRET_PLACEHOLDER, StackFileError, available_stacks, run_program
from paikit.plan import stack_config as read_stack_config
from tests.conftest import RecordingMocks

STACKS = available_stacks()


@pytest.fixture(scope="module")
def plans():
    return {stack: run_program(stack) for stack in STACKS}


def _of_type(plan, token):
    return [r for r in plan.resources if r.type == token]


def test_the_three_environments_are_committed():
    assert {"dev", "staging", "prod"} <= set(STACKS)


@pytest.mark.parametrize("stack", STACKS)
def test_every_stack_plans_with_buckets_policy_and_nas(plans, stack):
    plan = plans[stack]
    types = {r.type for r in plan.resources}
    assert {
        "paikit:storage:DataBucket",
        "paikit:access:EasRolePolicy",
        "paikit:dsw:DswStorage",
        "alicloud:oss/bucketCors:BucketCors",
        "alicloud:ram/policy:Policy",
        "alicloud:nas/mountTarget:MountTarget",
    } <= types
    assert plan.outputs["dataBucket"] in plan.outputs["buckets"]
    assert plan.outputs["nasMountTargetDomain"].endswith(".nas.aliyuncs.com")
    fragment = json.loads(plan.outputs["dswCreateInstanceFragment"])
    assert set(fragment) == {"UserVpc", "Datasets"}
    assert fragment["UserVpc"]["VpcId"] == plan.outputs["dswVpcId"]


@pytest.mark.parametrize("stack", STACKS)
def test_no_bucket_carries_cors_rules_beside_a_cors_resource(plans, stack):
    plan = plans[stack]
    for bucket in _of_type(plan, "alicloud:oss/bucket:Bucket"):
        assert "corsRules" not in bucket.inputs, bucket.urn
        assert bucket.ignore_changes == ["corsRules"], bucket.urn
    owners = [c.inputs["bucket"] for c in _of_type(plan, "alicloud:oss/bucketCors:BucketCors")]
    assert len(owners) == len(set(owners))


@pytest.mark.parametrize("stack", STACKS)
def test_every_cors_resource_serves_its_consumers(plans, stack):
    plan = plans[stack]
    for resource in _of_type(plan, "alicloud:oss/bucketCors:BucketCors"):
        rules = [cors.rule_from_engine(r) for r in resource.inputs["corsRules"]]
        assert len(rules) <= cors.MAX_RULES
        served = [
            p
            for p, c in cors.CONSUMERS.items()
            if any(c.rule(r.max_age_seconds) == r for r in rules)
        ]
        assert served, resource.urn
        assert (
            cors.coverage_gaps(rules, served, response_vary=resource.inputs["responseVary"]) == []
        )


@pytest.mark.parametrize("stack", STACKS)
def test_ram_policies_grant_only_the_eas_service_linked_role(plans, stack):
    plan = plans[stack]
    [policy] = _of_type(plan, "alicloud:ram/policy:Policy")
    assert "force" not in policy.inputs
    assert policy.inputs["rotateStrategy"] == documents.ROTATE_STRATEGY
    text = policy.inputs["policyDocument"]
    document = json.loads(text)
    assert text == documents.canonical_json(document)
    assert documents.grammar_problems(text) == []
    for statement in document["Statement"]:
        assert statement["Action"] in ("ram:CreateServiceLinkedRole", "ram:DeleteServiceLinkedRole")
        assert statement["Condition"] == {
            "StringEquals": {"ram:ServiceName": documents.EAS_SERVICE_NAME}
        }
    attachments = _of_type(plan, "alicloud:ram/userPolicyAttachment:UserPolicyAttachment")
    attachments += _of_type(plan, "alicloud:ram/groupPolicyAttachment:GroupPolicyAttachment")
    assert attachments
    for attachment in attachments:
        # The name comes from the policy's output: the attachment depends on the policy.
        assert policy.urn in attachment.dependencies, attachment.urn


@pytest.mark.parametrize("stack", STACKS)
def test_nas_is_general_purpose_and_reachable_only_from_the_dsw_vswitch(plans, stack):
    plan = plans[stack]
    for fs in _of_type(plan, "alicloud:nas/fileSystem:FileSystem"):
        assert fs.inputs["fileSystemType"] == "standard"
        assert "vpcId" not in fs.inputs and "vswitchId" not in fs.inputs
        assert fs.inputs["encryptType"] == 1
    for target in _of_type(plan, "alicloud:nas/mountTarget:MountTarget"):
        assert target.inputs["accessGroupName"] != "DEFAULT_VPC_GROUP_NAME"
    [rule] = _of_type(plan, "alicloud:nas/accessRule:AccessRule")
    assert rule.inputs["sourceCidrIp"] != "0.0.0.0/0"
    config = plan.config
    expected_cidr = json.loads(
        json.dumps(config.get("pai-kit:networkVswitchCidr") or "10.42.1.0/24")
    )
    assert rule.inputs["sourceCidrIp"] == expected_cidr


def test_prod_uses_its_existing_network_kms_and_workspace(plans):
    plan = plans["prod"]
    assert _of_type(plan, "alicloud:vpc/network:Network") == []
    assert plan.outputs["dswVpcId"] == "vpc-2zeabcd1234efgh5678ij"
    assert plan.outputs["dswZoneId"] == "cn-beijing-h"
    for bucket in _of_type(plan, "alicloud:oss/bucket:Bucket"):
        assert bucket.inputs["serverSideEncryptionRule"]["sseAlgorithm"] == "KMS"
    assert len(_of_type(plan, "alicloud:pai/workspaceDataset:WorkspaceDataset")) == 2


def test_project_defaults_are_applied_like_the_cli():
    project, values, secrets = read_stack_config("dev")
    assert project == "pai-kit"
    assert values["pai-kit:protectedEnvironments"] == '["prod"]'
    assert values["pai-kit:encryption"] == "AES256"
    assert values["pai-kit:easPolicyAllowDelete"] == "false"
    assert values["alicloud:region"] == "cn-hangzhou"  # the stack's value wins
    assert json.loads(values["pai-kit:buckets"]) == [
        {"name": "acme-pai-dev-data", "forceDestroy": True}
    ]
    assert secrets == []


def test_secure_values_show_as_secret_and_the_plan_carries_on(tmp_path):
    stack_file = tmp_path / "Pulumi.secret.yaml"
    stack_file.write_text(
        "config:\n"
        "  alicloud:region: cn-hangzhou\n"
        "  pai-kit:encryption: KMS\n"
        "  pai-kit:kmsKeyId:\n"
        "    secure: AAABAFakeCipherText==\n"
    )
    plan = run_program("secret", stack_file=stack_file)
    assert plan.secret_keys == ["pai-kit:kmsKeyId"]
    assert plan.config["pai-kit:kmsKeyId"] == SECRET_PLACEHOLDER
    [bucket] = [r for r in plan.resources if r.type == "alicloud:oss/bucket:Bucket"]
    assert bucket.inputs["serverSideEncryptionRule"]["kmsMasterKeyId"] == SECRET_PLACEHOLDER


def test_a_zone_that_does_not_sell_the_storage_type_stops_the_program_before_any_resource():
    mocks = RecordingMocks(zones={"cn-hangzhou-g": {("Capacity", "NFS")}})
    _, values, _ = read_stack_config("dev")
    values["pai-kit:nasVolumes"] = '[{"name":"shared","storageType":"Premium"}]'
    with pytest.raises(pulumi.RunError) as caught:
        run_program("dev", config=values, mocks=mocks)
    assert "no zone in this region sells NAS Premium over NFS" in str(caught.value)
    assert mocks.registrations == []


def test_a_configured_zone_that_does_not_sell_the_type_names_those_that_do():
    mocks = RecordingMocks(
        zones={"cn-hangzhou-g": {("Capacity", "NFS")}, "cn-hangzhou-h": {("Premium", "NFS")}}
    )
    _, values, _ = read_stack_config("dev")
    values["pai-kit:nasVolumes"] = '[{"name":"shared","storageType":"Premium"}]'
    values["pai-kit:networkZoneId"] = "cn-hangzhou-g"
    with pytest.raises(pulumi.RunError) as caught:
        run_program("dev", config=values, mocks=mocks)
    assert "zones that do: cn-hangzhou-h" in str(caught.value)
    assert mocks.registrations == []


def test_missing_stack_file_names_the_stacks_there():
    with pytest.raises(StackFileError, match=f"stacks here: {', '.join(STACKS)}$"):
        run_program("no-such-stack")


def _cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "paikit.plan", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_command_prints_the_plan_and_json_for_machines():
    text = _cli("dev", "--no-review") if "--no-review" in _cli("--help").stdout else _cli("dev")
    assert text.returncode == 0, text.stderr
    assert "+ Bucket" in text.stdout
    assert "acme-pai-dev-data-bucket" in text.stdout
    assert "Outputs:" in text.stdout
    result = _cli("dev", "--json")
    document = json.loads(result.stdout)
    assert document["stack"] == "dev"
    assert {r["type"] for r in document["resources"]} >= {"alicloud:oss/bucket:Bucket"}
    assert document["outputs"]["dataBucket"] == "acme-pai-dev-data"


def test_command_reports_bad_config_in_one_message_without_traceback(tmp_path):
    stack_file = tmp_path / "Pulumi.bad.yaml"
    stack_file.write_text("config:\n  alicloud:region: cn-hangzhou\n  pai-kit:costOwnr: x\n")
    result = _cli("bad", "--stack-file", str(stack_file))
    assert result.returncode == 2
    assert "pai-kit:costOwnr" in result.stderr
    assert "did you mean 'costOwner'" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
