"""Stack configuration: defaults, derived settings, and a table of refused inputs."""

import pytest
import yaml

from paikit import config
from paikit.config import ConfigError
from paikit.plan import ROOT
from tests.conftest import raw, settings

STUDIO_WITHOUT_HEAD = {
    "allowedOrigins": ["https://*.console.aliyun.com", "http://*.console.aliyun.com"],
    "allowedMethods": ["GET", "PUT", "POST"],
    "allowedHeaders": ["authorization", "content-md5", "content-type", "x-oss-date",
                       "x-oss-security-token", "x-oss-user-agent", "range"],
    "exposeHeaders": ["etag", "x-oss-request-id"],
}  # fmt: skip


def test_defaults_give_one_bucket_one_volume_and_a_created_network():
    s = settings(stack="dev")
    assert s.environment == "dev"
    assert s.protected is False
    assert [b.name for b in s.buckets] == ["pai-dev-data"]
    assert s.default_bucket.pai_consumers == ("itag", "studio-preview")
    assert s.default_bucket.encryption == "AES256"
    assert s.default_bucket.force_destroy is False
    assert [v.name for v in s.nas_volumes] == ["shared"]
    assert s.default_nas_volume.mount_path == "/mnt/data/"
    assert s.default_nas_volume.encrypt_type == 1
    assert s.network.create is True
    assert s.network.vswitch_cidr == "10.42.1.0/24"
    assert s.eas_policy.name == "PaiEasServiceLinkedRole-dev"
    assert dict(s.tags) == {"cost-owner": "pai-platform", "environment": "dev", "project": "pai"}


def test_prod_is_protected_by_default_with_versioning():
    s = settings(stack="prod")
    assert s.protected is True
    assert s.default_bucket.versioning is True


def test_unprotecting_an_environment_changes_no_setting_that_replaces_a_bucket():
    # Redundancy type and storage class are fixed at creation: their defaults must not follow
    # protection, or retiring an environment would ask to replace its buckets.
    protected = settings(stack="prod").default_bucket
    unprotected = settings(stack="prod", protectedEnvironments=[]).default_bucket
    assert protected.redundancy_type == unprotected.redundancy_type == "LRS"
    assert protected.storage_class == unprotected.storage_class


def test_engine_strings_are_parsed_like_typed_values():
    s = config.load(
        {
            "alicloud:region": "cn-beijing",
            "pai-kit:easPolicyAllowDelete": "true",
            "pai-kit:easPolicyUsers": '["bob","alice"]',
            "pai-kit:buckets": '[{"name":"team-a-data"},{"name":"team-b-data","default":true}]',
        },
        "dev",
    )
    assert s.eas_policy.allow_delete is True
    assert s.eas_policy.users == ("alice", "bob")
    assert s.default_bucket.name == "team-b-data"


def test_custom_rules_go_after_presets_unless_asked_first():
    rule = {"allowedOrigins": ["https://app.example.com"], "allowedMethods": ["GET"]}
    after = settings(buckets=[{"name": "abc", "customCorsRules": [rule]}]).default_bucket
    assert [r.allowed_origins for r in after.cors_rules][-1] == ("https://app.example.com",)
    first = settings(
        buckets=[{"name": "abc", "customCorsRules": [rule], "customCorsRulesFirst": True}]
    ).default_bucket
    assert first.cors_rules[0].allowed_origins == ("https://app.example.com",)
    assert len(first.cors_rules) == 3


def test_a_consumer_served_by_custom_rules_alone_is_accepted():
    studio = dict(STUDIO_WITHOUT_HEAD, allowedMethods=["GET", "PUT", "POST", "HEAD"])
    bucket = settings(
        buckets=[{"name": "abc", "paiConsumers": ["studio-preview"], "corsPresets": [],
                  "customCorsRules": [studio]}]
    ).default_bucket  # fmt: skip
    assert bucket.cors_presets == ()
    assert len(bucket.cors_rules) == 1


@pytest.mark.parametrize("name", ["abc", "a" * 63, "0-9", "team-a-data-2026"])
def test_bucket_names_at_the_limits_are_accepted(name):
    assert settings(buckets=[{"name": name}]).default_bucket.name == name


def _eleven_rules():
    return [{"allowedOrigins": [f"https://app{i}.example.com"], "allowedMethods": ["GET"]}
            for i in range(11)]  # fmt: skip


INVALID = [
    # (description, keys, stack, expected fragments of the one error)
    ("unknown key", {"costOwnr": "x"}, "dev",
     ["pai-kit:costOwnr", "did you mean 'costOwner'"]),
    ("bad region", {}, "dev", ["alicloud:region"]),
    ("bucket name too short", {"buckets": [{"name": "ab"}]}, "dev", ["buckets[0].name", '"ab"']),
    ("bucket name too long", {"buckets": [{"name": "a" * 64}]}, "dev", ["buckets[0].name"]),
    ("bucket name upper case", {"buckets": [{"name": "Data"}]}, "dev", ["buckets[0].name"]),
    ("bucket name ends with dash", {"buckets": [{"name": "data-"}]}, "dev", ["buckets[0].name"]),
    ("duplicate bucket", {"buckets": [{"name": "abc"}, {"name": "abc"}]}, "dev",
     ["buckets[1].name", "at most once"]),
    ("unknown bucket field", {"buckets": [{"name": "abc", "cors": []}]}, "dev",
     ["buckets[0].cors", "unknown key"]),
    ("unknown preset", {"buckets": [{"name": "abc", "corsPresets": ["itag", "designer"]}]}, "dev",
     ["buckets[0].corsPresets", '"designer"', "one of itag, studio-preview"]),
    ("eleven rules", {"buckets": [{"name": "abc", "corsPresets": [], "paiConsumers": [],
                                   "customCorsRules": _eleven_rules()}]}, "dev",
     ["buckets[0].customCorsRules", "11 CORS rules; OSS allows at most 10 per bucket"]),
    ("two wildcards in an origin",
     {"buckets": [{"name": "abc", "customCorsRules": [
         {"allowedOrigins": ["https://*.*.console.aliyun.com"], "allowedMethods": ["GET"]}]}]},
     "dev", ["buckets[0].customCorsRules[0]", "at most one '*'"]),
    ("origin without scheme",
     {"buckets": [{"name": "abc", "customCorsRules": [
         {"allowedOrigins": ["pai.console.aliyun.com"], "allowedMethods": ["GET"]}]}]},
     "dev", ["buckets[0].customCorsRules[0]", "scheme"]),
    ("star in expose headers",
     {"buckets": [{"name": "abc", "customCorsRules": [
         {"allowedOrigins": ["https://a.example.com"], "allowedMethods": ["GET"],
          "exposeHeaders": ["*"]}]}]},
     "dev", ["buckets[0].customCorsRules[0]", "expose headers may not contain '*'"]),
    ("studio rule without HEAD answering Studio",
     {"buckets": [{"name": "abc", "corsPresets": ["itag"],
                   "customCorsRules": [STUDIO_WITHOUT_HEAD]}]},
     "dev", ["buckets[0].customCorsRules",
             "PAI-Studio file preview: HEAD from https://pai.console.aliyun.com"]),
    ("studio rule without http origin",
     {"buckets": [{"name": "abc", "corsPresets": ["itag"], "customCorsRules": [
         dict(STUDIO_WITHOUT_HEAD, allowedOrigins=["https://*.console.aliyun.com"],
              allowedMethods=["GET", "PUT", "POST", "HEAD"])]}]},
     "dev", ["PAI-Studio file preview: PUT from http://pai.console.aliyun.com",
             "no rule matches", "(and 23 more such requests)"]),
    ("itag without vary", {"buckets": [{"name": "abc", "responseVary": False}]}, "dev",
     ["buckets[0].responseVary", "PAI iTAG needs Vary: Origin"]),
    ("force destroy in prod", {"buckets": [{"name": "abc", "forceDestroy": True}]}, "prod",
     ["buckets[0].forceDestroy", "protected environment 'prod'"]),
    ("versioning off in prod", {"buckets": [{"name": "abc", "versioning": False}]}, "prod",
     ["buckets[0].versioning"]),
    ("KMS without key", {"encryption": "KMS"}, "dev", ["kmsKeyId", "required when encryption"]),
    ("unknown encryption", {"encryption": "SM4"}, "dev", ["encryption", "AES256, KMS"]),
    ("policy name with underscore", {"easPolicyName": "pai_eas"}, "dev",
     ["easPolicyName", "no '_' or '.'"]),
    ("policy name too long", {"easPolicyName": "a" * 129}, "dev", ["easPolicyName"]),
    ("users not a list", {"easPolicyUsers": "alice"}, "dev",
     ["easPolicyUsers", "a list of strings"]),
    ("bad storage type", {"nasVolumes": [{"name": "shared", "storageType": "Extreme"}]}, "dev",
     ["nasVolumes[0].storageType", "Performance, Capacity, Premium"]),
    ("KMS key on general-purpose NAS", {"nasVolumes": [{"name": "shared", "encryptType": 2}]},
     "dev", ["nasVolumes[0].encryptType", "one of 1"]),
    ("unencrypted NAS", {"nasVolumes": [{"name": "shared", "encryptType": 0}]},
     "dev", ["nasVolumes[0].encryptType", "one of 1"]),
    ("bare star origin",
     {"buckets": [{"name": "abc", "customCorsRules": [
         {"allowedOrigins": ["*"], "allowedMethods": ["GET"]}]}]},
     "dev", ["buckets[0].customCorsRules[0].allowedOrigins", "every website"]),
    ("default not a boolean", {"buckets": [{"name": "abc", "default": "yes"}]}, "dev",
     ["buckets[0].default", "true or false"]),
    ("consumers tag set by hand", {"tags": ["pai-consumers=itag"]}, "dev",
     ["tags", "paiConsumers"]),
    ("tag set twice", {"tags": ["team=a", "team=b"]}, "dev", ["tags", "set twice"]),
    ("log bucket is a data bucket",
     {"accessLogBucket": "abc", "buckets": [{"name": "abc"}]}, "dev",
     ["accessLogBucket", "a bucket of its own"]),
    ("log bucket name", {"accessLogBucket": "Logs"}, "dev", ["accessLogBucket", "bucket name"]),
    ("star after a scheme",
     {"buckets": [{"name": "abc", "customCorsRules": [
         {"allowedOrigins": ["https://*"], "allowedMethods": ["GET"]}]}]},
     "dev", ["buckets[0].customCorsRules[0].allowedOrigins", "every website"]),
    ("max age as text", {"buckets": [{"name": "abc", "corsMaxAgeSeconds": "600"}]}, "dev",
     ["buckets[0].corsMaxAgeSeconds", "a whole number"]),
    ("vary without rules", {"buckets": [{"name": "abc", "paiConsumers": [],
                                         "responseVary": True}]}, "dev",
     ["buckets[0].responseVary", "only when the bucket has CORS rules"]),
    ("duplicate mount path",
     {"nasVolumes": [{"name": "a1", "mountPath": "/mnt/x/"},
                     {"name": "b1", "mountPath": "/mnt/x/"}]},
     "dev", ["nasVolumes[1].mountPath", "at most once"]),
    ("public CIDR", {"networkVpcCidr": "8.8.0.0/16", "networkVswitchCidr": "8.8.1.0/24"}, "dev",
     ["networkVpcCidr", "private range"]),
    ("open CIDR", {"networkVswitchCidr": "0.0.0.0/0"}, "dev", ["networkVswitchCidr"]),
    ("vswitch outside vpc", {"networkVswitchCidr": "192.168.1.0/24"}, "dev",
     ["networkVswitchCidr", "inside networkVpcCidr 10.42.0.0/16"]),
    ("host bits set", {"networkVswitchCidr": "10.42.1.7/24"}, "dev", ["networkVswitchCidr"]),
    ("existing vpc without vswitch", {"networkVpcId": "vpc-bp1abcdefgh"}, "dev",
     ["networkVswitchId", "go together"]),
    ("existing network without cidr or zone",
     {"networkVpcId": "vpc-bp1abcdefgh", "networkVswitchId": "vsw-bp1abcdefgh"}, "dev",
     ["networkVswitchCidr", "networkZoneId", "required with an existing network"]),
    ("two defaults", {"buckets": [{"name": "abc", "default": True},
                                  {"name": "abd", "default": True}]}, "dev",
     ["buckets", "at most one default"]),
    ("buckets not a list", {"buckets": "abc"}, "dev", ["buckets", "a list of objects"]),
    ("reserved tag", {"tags": ["environment=x"]}, "dev", ["tags", "its own config key"]),
    ("tag without value", {"tags": ["team"]}, "dev", ["tags", "key=value"]),
    ("boolean as text", {"easPolicyAllowDelete": "yes"}, "dev",
     ["easPolicyAllowDelete", "true or false"]),
    ("workspace id", {"paiWorkspaceId": "ws-1"}, "dev", ["paiWorkspaceId", "digits"]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("keys", "stack", "fragments"),
    [pytest.param(keys, stack, fragments, id=desc) for desc, keys, stack, fragments in INVALID],
)
def test_invalid_config_is_one_clear_error(keys, stack, fragments):
    region = "mars-1" if not keys and not fragments[0].startswith("pai") else "cn-hangzhou"
    with pytest.raises(ConfigError) as caught:
        config.load(raw(region, **keys), stack)
    message = str(caught.value)
    assert message.startswith("invalid stack configuration")
    for fragment in fragments:
        assert fragment in message


def test_every_problem_is_reported_at_once():
    with pytest.raises(ConfigError) as caught:
        config.load(raw("nowhere", encryption="SM4", easPolicyName="a_b"), "dev")
    keys = [p.split(" = ")[0] for p in caught.value.problems]
    assert keys == ["alicloud:region", "encryption", "easPolicyName"]


def test_zone_is_chosen_among_those_selling_the_storage_type():
    zones = {
        "cn-hangzhou-g": {("Capacity", "NFS")},
        "cn-hangzhou-h": {("Capacity", "NFS"), ("Premium", "NFS")},
    }
    assert config.choose_nas_zone(zones, {"Capacity"}, None) == "cn-hangzhou-g"
    assert config.choose_nas_zone(zones, {"Premium", "Capacity"}, None) == "cn-hangzhou-h"
    assert config.choose_nas_zone(zones, {"Capacity"}, "cn-hangzhou-h") == "cn-hangzhou-h"


def test_a_zone_that_does_not_sell_the_type_lists_the_zones_that_do():
    zones = {
        "cn-hangzhou-g": {("Capacity", "NFS")},
        "cn-hangzhou-h": {("Premium", "NFS")},
        "cn-hangzhou-k": {("Premium", "nfs")},
    }
    with pytest.raises(ConfigError) as caught:
        config.choose_nas_zone(zones, {"Premium"}, "cn-hangzhou-g")
    assert caught.value.problems == [
        'networkZoneId = "cn-hangzhou-g": this zone does not sell NAS Premium over NFS; '
        "zones that do: cn-hangzhou-h, cn-hangzhou-k"
    ]
    with pytest.raises(ConfigError, match="no zone in this region sells NAS Performance"):
        config.choose_nas_zone(zones, {"Performance"}, None)


def test_project_file_declares_every_scalar_key_with_type_description_and_default():
    declared = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"]
    for key in config.KEYS:
        if key.type == "object-list":
            assert key.name not in declared
            continue
        entry = declared[key.name]
        assert entry["type"] == key.type
        assert entry["description"] == key.description
        assert entry["default"] == key.default
        if key.type == "array":
            assert entry["items"] == {"type": "string"}
    assert set(declared) - {"alicloud:region"} == {
        k.name for k in config.KEYS if k.type != "object-list"
    }


def _problems(stack="dev", region="cn-hangzhou", **keys):
    with pytest.raises(ConfigError) as caught:
        config.load(raw(region, **keys), stack)
    return caught.value.problems


def test_misspelt_provider_keys_and_namespaces_are_not_ignored():
    values = raw(**{"costOwner": "ml"})
    values["alicloud:regoin"] = "cn-beijing"
    values["pai_kit:buckets"] = "[]"
    values["paikit:costOwner"] = "x"
    values["aws:region"] = "us-east-1"  # another project's namespace: not ours to judge
    with pytest.raises(ConfigError) as caught:
        config.load(values, "dev")
    problems = caught.value.problems
    assert len(problems) == 3
    assert {p.split(" = ")[0] for p in problems[:2]} == {"pai_kit:buckets", "paikit:costOwner"}
    assert "unknown namespace; this project's keys are pai-kit:..." in problems[0]
    assert problems[2].startswith("alicloud:regoin: unknown key; did you mean 'region'?")


def test_one_mistake_is_one_line():
    assert _problems(buckets=[{"name": "Bad_Name"}, {"name": "Bad_Name2"}]) == [
        "buckets[0].name = \"Bad_Name\": 3 to 63 lowercase letters, digits and '-', starting and "
        "ending with a letter or digit (unique across all of OSS)",
        "buckets[1].name = \"Bad_Name2\": 3 to 63 lowercase letters, digits and '-', starting "
        "and ending with a letter or digit (unique across all of OSS)",
    ]
    bad_origin = {"allowedOrigins": ["pai.console.aliyun.com"], "allowedMethods": ["GET"]}
    assert len(_problems(buckets=[{"name": "abc", "customCorsRules": [bad_origin]}])) == 1
    assert len(_problems(buckets=[{"name": "abc", "paiConsumers": ["itag", "designer"]}])) == 1


def test_a_missing_half_of_an_existing_network_names_the_missing_key():
    [problem, *_] = _problems(networkVpcId="vpc-bp1abcdefgh")
    assert problem == (
        'networkVswitchId = "": required with networkVpcId vpc-bp1abcdefgh: the two go together'
    )


def test_too_many_rules_counts_the_presets():
    rules = [{"allowedOrigins": [f"https://a{i}.example.com"], "allowedMethods": ["GET"]}
             for i in range(9)]  # fmt: skip
    [problem] = _problems(buckets=[{"name": "abc", "customCorsRules": rules}])
    assert problem == (
        'buckets[0].customCorsRules = "9 rules": with 2 preset rule(s) that makes 11 CORS '
        "rules; OSS allows at most 10 per bucket"
    )


def test_created_vswitch_follows_the_vpc_cidr():
    assert settings(networkVpcCidr="172.16.0.0/16").network.vswitch_cidr == "172.16.1.0/24"
    assert settings(networkVpcCidr="192.168.8.0/24").network.vswitch_cidr == "192.168.8.0/24"


def test_a_bucket_without_consumers_needs_no_vary():
    bucket = settings(buckets=[{"name": "abc", "paiConsumers": []}]).default_bucket
    assert bucket.cors_rules == () and bucket.response_vary is False


def test_unicode_cost_owner_is_a_valid_tag_value():
    assert settings(costOwner="数据平台").tags["cost-owner"] == "数据平台"


def test_a_zone_outside_the_region_is_refused():
    [problem] = _problems(region="ap-southeast-1", networkZoneId="cn-beijing-h")
    assert problem.startswith('networkZoneId = "cn-beijing-h": a zone of alicloud:region')
    assert settings(region="ap-southeast-1", networkZoneId="ap-southeast-1a").network.zone_id


@pytest.mark.parametrize(
    ("keys", "key"),
    [
        ({"project": "PAI_Team"}, "project"),
        ({"environment": "Prod!"}, "environment"),
        ({"networkVpcCidr": "0.0.0.0/0"}, "networkVpcCidr"),
        ({"nasVolumes": [{"name": "Bad Name"}]}, "nasVolumes[0].name"),
        ({"buckets": [{"name": "abc", "responseVary": "yes"}]}, "buckets[0].responseVary"),
        ({"buckets": [{"name": "abc", "versioning": "false"}]}, "buckets[0].versioning"),
        ({"buckets": [{"name": "abc", "encryption": "KMS", "kmsKeyId": {"x": 1}}]},
         "buckets[0].kmsKeyId"),
    ],
)  # fmt: skip
def test_a_refused_value_is_not_reported_again_through_what_derives_from_it(keys, key):
    problems = _problems(stack="prod", **keys)
    assert [p.split(" = ")[0] for p in problems] == [key]


def test_coverage_gaps_are_one_line_per_console_blaming_the_presets():
    problems = _problems(buckets=[{"name": "abc", "paiConsumers": ["itag"],
                                   "corsPresets": ["studio-preview"]}])  # fmt: skip
    assert len(problems) == 1
    assert problems[0].startswith('buckets[0].corsPresets = ["studio-preview"]: PAI iTAG')


def test_nested_mount_paths_are_refused():
    [problem] = _problems(
        nasVolumes=[{"name": "aa", "mountPath": "/mnt/data/"},
                    {"name": "bb", "mountPath": "/mnt/data/sub/"}]
    )  # fmt: skip
    assert problem == 'nasVolumes[1].mountPath = "/mnt/data/sub/": no mount path inside another'


def test_a_provider_key_in_the_project_namespace_says_where_it_belongs():
    with pytest.raises(ConfigError) as caught:
        config.load({**raw(), "pai-kit:region": "cn-beijing"}, "dev")
    [problem] = caught.value.problems
    assert problem == 'pai-kit:region = "cn-beijing": a provider setting: write alicloud:region'


def test_names_cannot_come_from_secrets():
    values = raw(environment="team-a")
    with pytest.raises(ConfigError, match="environment"):
        config.load(values, "dev", frozenset({"pai-kit:environment"}))
