"""Nothing lost, nothing open: protection, encryption and least privilege in planned stacks."""

import json

import pytest

from paikit import config, documents
from paikit.config import ConfigError
from paikit.plan import available_stacks, run_program, stack_config
from paikit.snapshot import DATA_BEARING_TYPES

STACKS = available_stacks()
BUCKET = "alicloud:oss/bucket:Bucket"
FILE_SYSTEM = "alicloud:nas/fileSystem:FileSystem"
SERVICE_LINKED_ROLE = "alicloud:resourcemanager/serviceLinkedRole:ServiceLinkedRole"
CONSOLE_ORIGINS = {"https://*.console.aliyun.com", "http://*.console.aliyun.com"}


def _of_type(plan, token):
    return [r for r in plan.resources if r.type == token]


def _environment(values, stack):
    return values.get(f"{config.PROJECT}:environment") or stack


def protected_variant(stack, *, keep_force_destroy=False):
    """A committed stack with its own environment listed as protected, and the kit creating
    the EAS service-linked role, so every kind of data-bearing resource is planned."""
    _, values, secrets = stack_config(stack)
    values = dict(values)
    values["pai-kit:protectedEnvironments"] = json.dumps([_environment(values, stack)])
    values["pai-kit:easCreateServiceLinkedRole"] = "true"
    buckets = json.loads(values.get("pai-kit:buckets", "null"))
    if buckets and not keep_force_destroy:
        for bucket in buckets:
            bucket.pop("forceDestroy", None)
        values["pai-kit:buckets"] = json.dumps(buckets)
    return values, secrets


@pytest.fixture(scope="module")
def plans():
    return {stack: run_program(stack) for stack in STACKS}


@pytest.fixture(scope="module")
def protected_plans(plans):
    """Every committed stack planned as a protected environment (prod as committed)."""
    result = {"prod": plans["prod"]}
    for stack in STACKS:
        if stack != "prod":
            values, secrets = protected_variant(stack)
            result[stack] = run_program(stack, config=values, secret_keys=secrets)
    return result


def test_prod_is_a_protected_environment_by_default(plans):
    assert plans["prod"].outputs["protected"] is True
    for stack in STACKS:
        environment = plans[stack].outputs["environment"]
        listed = json.loads(plans[stack].config.get("pai-kit:protectedEnvironments", '["prod"]'))
        assert plans[stack].outputs["protected"] is (environment in listed), stack


@pytest.mark.parametrize("stack", STACKS)
def test_the_engine_cannot_delete_data_in_a_protected_environment(protected_plans, stack):
    plan = protected_plans[stack]
    assert plan.outputs["protected"] is True
    data = [r for r in plan.resources if r.type in DATA_BEARING_TYPES]
    kinds = {r.type for r in data}
    assert {BUCKET, FILE_SYSTEM} <= kinds
    if plan.config.get("pai-kit:easCreateServiceLinkedRole") == "true":
        assert SERVICE_LINKED_ROLE in kinds
    for resource in data:
        assert resource.protect, f"{resource.urn} is not protected"
        assert resource.retain_on_delete, f"{resource.urn} would be deleted with the stack"
    for bucket in _of_type(plan, BUCKET):
        assert bucket.inputs["versioning"] == {"status": "Enabled"}, bucket.urn
        assert bucket.inputs["forceDestroy"] is False, bucket.urn
    # The bucket's guards stay with it, so a destroy cannot open a retained bucket.
    guards = _of_type(plan, "alicloud:oss/bucketAcl:BucketAcl")
    guards += _of_type(plan, "alicloud:oss/bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert len(guards) == 2 * len(_of_type(plan, BUCKET))
    for guard in guards:
        assert guard.retain_on_delete, f"{guard.urn} would be deleted with the stack"


@pytest.mark.parametrize("stack", [s for s in STACKS if s != "prod"])
def test_unprotected_stacks_stay_disposable(plans, stack):
    data = [r for r in plans[stack].resources if r.type in DATA_BEARING_TYPES]
    assert data
    assert not any(r.protect or r.retain_on_delete for r in data)


def test_protecting_dev_refuses_its_force_destroy_bucket():
    values, secrets = protected_variant("dev", keep_force_destroy=True)
    with pytest.raises(ConfigError) as caught:
        config.load(values, "dev", frozenset(secrets))
    assert caught.value.problems == [
        "buckets[0].forceDestroy = true: not allowed in the protected environment 'dev'"
    ]


@pytest.mark.parametrize("versioning", [False, "false"])
def test_a_protected_environment_refuses_unversioned_buckets(versioning):
    values, _ = protected_variant("staging")
    values["pai-kit:buckets"] = json.dumps([{"name": "acme-x-data", "versioning": versioning}])
    with pytest.raises(ConfigError) as caught:
        config.load(values, "staging")
    assert [p.split(" = ")[0] for p in caught.value.problems] == ["buckets[0].versioning"]


def test_protection_follows_the_environment_not_the_stack_name():
    _, values, _ = stack_config("staging")
    values = dict(values, **{"pai-kit:environment": "prod"})
    assert config.load(values, "staging").protected
    _, values, _ = stack_config("prod")
    values = dict(values, **{"pai-kit:environment": "production"})
    assert not config.load(values, "prod").protected  # list it in protectedEnvironments


@pytest.mark.parametrize("stack", STACKS)
def test_data_is_encrypted_at_rest_everywhere(plans, stack):
    plan = plans[stack]
    for bucket in _of_type(plan, BUCKET):
        rule = bucket.inputs["serverSideEncryptionRule"]
        assert rule["sseAlgorithm"] in config.SSE_ALGORITHMS, bucket.urn
        assert bool(rule.get("kmsMasterKeyId")) == (rule["sseAlgorithm"] == "KMS"), bucket.urn
    for file_system in _of_type(plan, FILE_SYSTEM):
        assert file_system.inputs["encryptType"] == 1, file_system.urn


def test_kms_encryption_is_chosen_per_environment_and_per_bucket():
    _, values, _ = stack_config("dev")
    values = dict(values)
    values["pai-kit:encryption"] = "KMS"
    values["pai-kit:kmsKeyId"] = "key-dev0123456789abcdef"
    values["pai-kit:buckets"] = json.dumps(
        [{"name": "acme-a-data"}, {"name": "acme-b-data", "encryption": "AES256"}]
    )
    plan = run_program("dev", config=values)
    rules = {
        b.inputs["bucket"]: b.inputs["serverSideEncryptionRule"] for b in _of_type(plan, BUCKET)
    }
    assert rules == {
        "acme-a-data": {"sseAlgorithm": "KMS", "kmsMasterKeyId": "key-dev0123456789abcdef"},
        "acme-b-data": {"sseAlgorithm": "AES256"},
    }


@pytest.mark.parametrize("stack", STACKS)
def test_every_bucket_is_private_and_blocks_public_access(plans, stack):
    plan = plans[stack]
    names = {b.inputs["bucket"] for b in _of_type(plan, BUCKET)}
    acls = {
        r.inputs["bucket"]: r.inputs["acl"]
        for r in _of_type(plan, "alicloud:oss/bucketAcl:BucketAcl")
    }
    blocks = {
        r.inputs["bucket"]: r.inputs["blockPublicAccess"]
        for r in _of_type(plan, "alicloud:oss/bucketPublicAccessBlock:BucketPublicAccessBlock")
    }
    assert acls == dict.fromkeys(names, "private")
    assert blocks == dict.fromkeys(names, True)
    assert _of_type(plan, "alicloud:oss/bucketPolicy:BucketPolicy") == []
    for bucket in _of_type(plan, BUCKET):
        assert not {"acl", "policy", "website", "corsRules"} & set(bucket.inputs), bucket.urn
    for cors in _of_type(plan, "alicloud:oss/bucketCors:BucketCors"):
        origins = {o for rule in cors.inputs["corsRules"] for o in rule["allowedOrigins"]}
        assert origins <= CONSOLE_ORIGINS, cors.urn


@pytest.mark.parametrize("stack", STACKS)
def test_nas_opens_only_to_the_dsw_vswitch_and_no_port_is_opened(plans, stack):
    plan = plans[stack]
    settings = config.load(plan.config, stack, frozenset(plan.secret_keys))
    [rule] = _of_type(plan, "alicloud:nas/accessRule:AccessRule")
    assert rule.inputs["sourceCidrIp"] == settings.network.vswitch_cidr
    assert int(rule.inputs["sourceCidrIp"].split("/")[1]) >= 16
    assert {
        t.inputs["accessGroupName"] for t in _of_type(plan, "alicloud:nas/mountTarget:MountTarget")
    } == {rule.inputs["accessGroupName"]}
    assert "DEFAULT_VPC_GROUP_NAME" not in json.dumps([r.inputs for r in plan.resources])
    opened = [r for r in plan.resources if "SecurityGroupRule" in r.type or "Ingress" in r.type]
    assert opened == []


@pytest.mark.parametrize("allow_delete", [False, True])
@pytest.mark.parametrize("stack", STACKS)
def test_the_ram_policy_grants_the_eas_role_actions_and_nothing_else(stack, allow_delete):
    _, values, secrets = stack_config(stack)
    values = dict(values, **{"pai-kit:easPolicyAllowDelete": json.dumps(allow_delete)})
    plan = run_program(stack, config=values, secret_keys=secrets)
    [policy] = _of_type(plan, "alicloud:ram/policy:Policy")
    document = json.loads(policy.inputs["policyDocument"])
    wanted = {"ram:CreateServiceLinkedRole"} | (
        {"ram:DeleteServiceLinkedRole"} if allow_delete else set()
    )
    granted = set()
    for statement in document["Statement"]:
        assert statement["Effect"] == "Allow"
        assert set(statement) == {"Action", "Resource", "Effect", "Condition"}
        assert statement["Condition"] == {
            "StringEquals": {"ram:ServiceName": documents.EAS_SERVICE_NAME}
        }
        granted.update(documents.actions_of(statement))
    assert granted == wanted
    assert not any("*" in action for action in granted)
    attachments = _of_type(plan, "alicloud:ram/userPolicyAttachment:UserPolicyAttachment")
    attachments += _of_type(plan, "alicloud:ram/groupPolicyAttachment:GroupPolicyAttachment")
    settings = config.load(values, stack, frozenset(secrets))
    principals = {a.inputs.get("userName") or a.inputs.get("groupName") for a in attachments}
    assert principals == set(settings.eas_policy.users) | set(settings.eas_policy.groups)
    assert {a.inputs["policyType"] for a in attachments} == {"Custom"}
    assert {a.inputs["policyName"] for a in attachments} == {policy.inputs["policyName"]}


def test_committed_stacks_never_share_a_bucket_name():
    # OSS bucket names are global: a name shared by two stacks fails the second stack's create
    # or, worse, lets one environment write into the other's bucket.
    owners = {}
    for stack in STACKS:
        _, values, secrets = stack_config(stack)
        for bucket in config.load(values, stack, frozenset(secrets)).buckets:
            assert bucket.name not in owners, (
                f"{bucket.name} in {owners.get(bucket.name)} and {stack}"
            )
            owners[bucket.name] = stack
