"""Every rule of the policy pack: passing and failing fixtures, the exact set of violators and
the enforcement level, with the pack's config defaults applied as the CLI applies them."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest
import yaml
from pulumi_policy import EnforcementLevel, Severity
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, _DictProxy, _ListProxy

from paikit import cors, documents
from paikit.plan import ROOT, PlannedResource
from policies import review
from policies.pack import POLICIES
from policies.rules import core, pai
from policies.rules.core import (
    BUCKET,
    BUCKET_ACL,
    BUCKET_CORS,
    BUCKET_HTTPS_CONFIG,
    BUCKET_LOGGING,
    BUCKET_POLICY,
    BUCKET_PUBLIC_ACCESS_BLOCK,
    BUCKET_SERVER_SIDE_ENCRYPTION,
    BUCKET_VERSIONING,
    NAS_ACCESS_GROUP,
    NAS_ACCESS_RULE,
    NAS_FILE_SYSTEM,
    NAS_MOUNT_TARGET,
    RAM_POLICY,
    RAM_USER_POLICY_ATTACHMENT,
)
from policies.rules.taggable import TAGGABLE_TYPES

STACK = "test"
PROJECT = "pai-kit"
REGION = "cn-hangzhou"
GROUP_ATTACHMENT = "alicloud:ram/groupPolicyAttachment:GroupPolicyAttachment"
PROVIDER = "pulumi:providers:alicloud"
UNKNOWN = UNKNOWN_STRING_VALUE


# --- fixtures ---------------------------------------------------------------------------------


def urn_of(token: str, name: str, stack: str = STACK) -> str:
    return f"urn:pulumi:{stack}::{PROJECT}::{token}::{name}"


def res(
    token: str,
    name: str,
    *,
    protect: bool = False,
    ignore: tuple[str, ...] = (),
    deps: tuple[PlannedResource, ...] = (),
    provider: PlannedResource | None = None,
    stack: str = STACK,
    **inputs,
) -> PlannedResource:
    return PlannedResource(
        urn=urn_of(token, name, stack),
        type=token,
        name=name,
        parent="",
        custom=True,
        inputs=inputs,
        protect=protect,
        ignore_changes=list(ignore),
        dependencies=[d.urn for d in deps],
        provider=f"{provider.urn}::{provider.name}-id" if provider else "",
    )


def tags(environment: str = "dev", **extra) -> dict:
    return {"environment": environment, "project": "pai", "cost-owner": "ml", **extra}


def engine_rule(rule: cors.CorsRule) -> dict:
    return {
        "allowedOrigins": list(rule.allowed_origins),
        "allowedMethods": list(rule.allowed_methods),
        "allowedHeaders": list(rule.allowed_headers),
        "exposeHeaders": list(rule.expose_headers),
    }


def preset(name: str) -> dict:
    return engine_rule(cors.CONSUMERS[name].rule())


def bucket(name: str = "data", environment: str = "dev", *, protect: bool = False, **inputs):
    defaults = {
        "bucket": name,
        "tags": tags(environment),
        "serverSideEncryptionRule": {"sseAlgorithm": "AES256"},
    }
    return res(
        BUCKET, f"{name}-bucket", protect=protect, ignore=("corsRules",), **{**defaults, **inputs}
    )


def cors_of(
    name: str = "data", rules=None, vary: bool = True, resource: str = ""
) -> PlannedResource:
    rules = [preset("itag"), preset("studio-preview")] if rules is None else rules
    return res(
        BUCKET_CORS, resource or f"{name}-cors", bucket=name, corsRules=rules, responseVary=vary
    )


def sound_bucket(name: str = "data", environment: str = "dev", **inputs) -> list[PlannedResource]:
    """A bucket as the kit builds it: every rule passes."""
    return [
        bucket(name, environment, protect=environment == "prod", **inputs),
        res(BUCKET_ACL, f"{name}-acl", bucket=name, acl="private"),
        res(BUCKET_PUBLIC_ACCESS_BLOCK, f"{name}-pab", bucket=name, blockPublicAccess=True),
        cors_of(name),
    ]


def ram_policy(name: str = "eas", document: object = None, **inputs) -> PlannedResource:
    if document is None:
        document = documents.service_linked_role_document()
    text = document if isinstance(document, str) else json.dumps(document)
    values = {
        "policyName": name,
        "policyDocument": text,
        "rotateStrategy": documents.ROTATE_STRATEGY,
        "tags": tags(),
        **inputs,
    }
    return res(RAM_POLICY, name, **values)


def allow(action, **extra) -> dict:
    return {
        "Version": "1",
        "Statement": [{"Effect": "Allow", "Action": action, "Resource": "*", **extra}],
    }


def findings(resources, policy: str, *, config=None, region: str | None = REGION):
    verdict = review.evaluate(resources, stack=STACK, project=PROJECT, region=region, config=config)
    return [f for f in verdict.findings if f.policy == policy]


def violators(resources, policy: str, **kwargs) -> set[str]:
    return {f.resource_name for f in findings(resources, policy, **kwargs) if f.decided}


def levels(resources, policy: str, **kwargs) -> set[str]:
    return {f.level for f in findings(resources, policy, **kwargs)}


def undecided(resources, policy: str, **kwargs) -> set[str]:
    return {f.resource_name for f in findings(resources, policy, **kwargs) if not f.decided}


COVERED: set[str] = set()


def covers(name: str):
    """Mark a test class as the fixtures of one policy; every policy must have one."""
    assert name in {p.name for p in POLICIES}, name
    COVERED.add(name)
    return lambda cls: cls


# --- the pack ---------------------------------------------------------------------------------


class TestPack:
    def test_policy_names_are_unique_and_kebab_case(self):
        names = [p.name for p in POLICIES]
        assert len(names) == len(set(names))
        for name in names:
            assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)+", name), name

    def test_descriptions_are_one_sentence(self):
        for policy in POLICIES:
            text = policy.description
            assert text.endswith(".") and text[0].isupper(), policy.name
            assert not re.search(r"\.\s+[A-Z]", text), policy.name

    def test_every_policy_has_a_level_a_severity_and_the_types_it_reads(self):
        for policy in POLICIES:
            assert policy.enforcement_level in (
                EnforcementLevel.MANDATORY,
                EnforcementLevel.ADVISORY,
            )
            assert policy.severity is not None, policy.name
            assert policy.resource_types, policy.name

    def test_every_config_property_has_a_default_and_a_description(self):
        allowed = {"type", "items", "enum", "additionalProperties", "default", "description"}
        for policy in POLICIES:
            for key, schema in (
                policy.config_schema.properties if policy.config_schema else {}
            ).items():
                assert "default" in schema and schema["description"], f"{policy.name}.{key}"
                assert set(schema) <= allowed, f"{policy.name}.{key}"
                assert review.schema_problems(schema["default"], schema, key) == []

    def test_defaults_are_what_the_cli_would_send(self):
        settings = review.resolve_config(None)
        assert settings["oss-cors-origin-allowlist"].properties == {
            "allowedOrigins": ["https://*.console.aliyun.com", "http://*.console.aliyun.com"]
        }
        assert settings["ram-service-linked-role-scoped"].properties == {
            "allowedServiceNames": ["eas.pai.aliyuncs.com"]
        }
        assert settings["data-protected-from-deletion"].properties == {
            "protectedEnvironments": ["prod"]
        }
        assert settings["ram-attach-to-groups"].level == EnforcementLevel.ADVISORY

    def test_every_policy_has_fixtures(self):
        assert {p.name for p in POLICIES} == COVERED

    def test_policies_import_neither_components_nor_the_provider(self):
        for path in sorted((ROOT / "policies").rglob("*.py")):
            if ".venv" in path.parts:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                names = []
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module:
                    names = [node.module]
                for name in names:
                    top = name.split(".")[0]
                    assert top not in ("components", "pulumi_alicloud"), f"{path}: {name}"
                    if top == "paikit":
                        assert name in ("paikit", "paikit.cors", "paikit.documents"), (
                            f"{path}: {name}"
                        )

    def test_the_pack_entry_point_only_builds_the_pack(self):
        tree = ast.parse((ROOT / "policies" / "__main__.py").read_text(encoding="utf-8"))
        calls = [
            n.value.func.id
            for n in tree.body
            if isinstance(n, ast.Expr)
            and isinstance(n.value, ast.Call)
            and isinstance(n.value.func, ast.Name)
        ]
        assert calls == ["PolicyPack"]

    def test_the_pack_is_a_python_pack_with_pinned_requirements(self):
        manifest = yaml.safe_load((ROOT / "policies" / "PulumiPolicy.yaml").read_text())
        assert manifest["runtime"]["name"] == "python"
        pins = [
            line.strip()
            for line in (ROOT / "policies" / "requirements.txt").read_text().splitlines()
            if line.strip() and not line.startswith("#")
        ]
        assert sorted(pins) == ["pulumi-policy==1.21.0", "pulumi==3.272.0"]

    def test_taggable_types_match_the_installed_provider(self):
        import pulumi_alicloud

        base = Path(pulumi_alicloud.__file__).parent
        found = set()
        for module in ("ecs", "kms", "nas", "oss", "pai", "ram", "resourcemanager", "vpc"):
            for path in (base / module).glob("*.py"):
                source = path.read_text(encoding="utf-8")
                token = re.search(r"super\(\w+, __self__\).__init__\(\s*'(alicloud:[^']+)'", source)
                resource_class = source[source.find("(pulumi.CustomResource)") :]
                if token and re.search(r"@pulumi.getter\n    def tags\(self\)", resource_class):
                    found.add(token.group(1))
        assert found == TAGGABLE_TYPES

    def test_engine_property_names_match_the_provider(self):
        import pulumi_alicloud.nas as nas
        import pulumi_alicloud.oss as oss
        import pulumi_alicloud.ram as ram

        def getters(cls) -> set[str]:
            names = set()
            for attribute in vars(cls).values():
                getter = getattr(attribute, "fget", None)
                name = getattr(getter, "_pulumi_name", None)
                if name:
                    names.add(name)
            return names

        assert {"corsRules", "responseVary", "bucket"} <= getters(oss.BucketCors)
        assert {
            "acl",
            "policy",
            "logging",
            "versioning",
            "serverSideEncryptionRule",
            "forceDestroy",
            "tags",
        } <= getters(oss.Bucket)
        assert {"blockPublicAccess"} <= getters(oss.BucketPublicAccessBlock)
        assert {"sseAlgorithm"} <= getters(oss.BucketServerSideEncryption)
        assert {"targetBucket"} <= getters(oss.BucketLogging)
        assert {"enable", "tlsVersions"} <= getters(oss.BucketHttpsConfig)
        assert {"status"} <= getters(oss.BucketVersioning)
        assert {"policyDocument", "rotateStrategy", "policyName"} <= getters(ram.Policy)
        assert {"accessGroupName"} <= getters(nas.MountTarget)
        assert {"sourceCidrIp", "ipv6SourceCidrIp", "fileSystemType"} <= getters(nas.AccessRule)
        assert {"encryptType", "fileSystemType", "vpcId", "vswitchId"} <= getters(nas.FileSystem)
        assert {"accessGroupName", "fileSystemType"} <= getters(nas.AccessGroup)


# --- internal keys and unknown values ---------------------------------------------------------


def _with_internal_keys(value):
    """The same value with bookkeeping keys added at every depth, some holding unknowns."""
    if isinstance(value, dict):
        out = {k: _with_internal_keys(v) for k, v in value.items()}
        out["__defaults"] = [UNKNOWN]
        out["__meta"] = UNKNOWN
        return out
    if isinstance(value, list):
        return [_with_internal_keys(v) for v in value]
    return value


class TestInternalKeys:
    def stack(self):
        return [
            *sound_bucket("data"),
            ram_policy(),
            res(NAS_FILE_SYSTEM, "fs", encryptType=1, fileSystemType="standard", tags=tags()),
            res(NAS_MOUNT_TARGET, "mt", accessGroupName="dsw"),
        ]

    def test_every_rule_ignores_internal_keys(self):
        plain = review.evaluate(self.stack(), stack=STACK, project=PROJECT, region=REGION)
        marked = []
        for resource in self.stack():
            resource.inputs = _with_internal_keys(resource.inputs)
            marked.append(resource)
        verdict = review.evaluate(marked, stack=STACK, project=PROJECT, region=REGION)
        assert verdict.findings == plain.findings
        assert verdict.undecided == []

    def test_rules_never_see_internal_keys(self):
        seen = []

        def plain(value):
            if isinstance(value, _DictProxy | _ListProxy):
                value = value["__target"]
            if isinstance(value, dict):
                return {k: plain(v) for k, v in value.items()}
            if isinstance(value, list):
                return [plain(v) for v in value]
            return value

        def probe(args, report_violation):
            seen.append(plain(args.props))

        policy = core.KitResourcePolicy(
            name="probe-policy",
            description="Records what a rule sees.",
            validate=probe,
            enforcement_level=EnforcementLevel.ADVISORY,
            severity=Severity.LOW,
            resource_types=(BUCKET,),
        )
        resource = res(BUCKET, "b", bucket="b", __defaults=[], corsRules=[{"__defaults": []}])
        review.evaluate([resource], stack=STACK, project=PROJECT, region=REGION, policies=[policy])
        assert seen == [{"bucket": "b", "corsRules": [{}]}]

    def test_an_unknown_value_is_never_a_pass(self):
        acl = res(BUCKET_ACL, "acl", bucket="data", acl=UNKNOWN)
        [finding] = findings([acl], "oss-bucket-acl-private")
        assert not finding.decided and finding.level == "mandatory"
        assert "can't be known during preview" in finding.message

    def test_a_stack_rule_judges_the_rest_and_names_what_it_cannot_decide(self):
        stack = [
            *sound_bucket("known"),
            bucket("pending", bucket=UNKNOWN),
            bucket("open"),
        ]
        assert violators(stack, "oss-bucket-public-access-block") == {"open-bucket"}
        assert undecided(stack, "oss-bucket-public-access-block") == {"pending-bucket"}

    def test_a_part_whose_bucket_is_unknown_follows_its_dependency(self):
        data = bucket("data")
        stack = [
            data,
            res(
                BUCKET_PUBLIC_ACCESS_BLOCK,
                "pab",
                bucket=UNKNOWN,
                deps=(data,),
                blockPublicAccess=True,
            ),
        ]
        assert findings(stack, "oss-bucket-public-access-block") == []


# --- PAI --------------------------------------------------------------------------------------


@covers("pai-cors-consumer-coverage")
class TestCorsConsumerCoverage:
    policy = "pai-cors-consumer-coverage"

    def test_the_kits_presets_serve_both_consoles(self):
        assert findings(sound_bucket(), self.policy) == []

    def test_a_studio_rule_without_head_is_reported_with_the_method(self):
        studio = preset("studio-preview")
        studio["allowedMethods"] = ["PUT", "GET", "POST"]
        stack = [bucket(), cors_of(rules=[preset("itag"), studio])]
        [finding] = findings(stack, self.policy)
        assert finding.resource_name == "data-cors" and finding.level == "mandatory"
        assert "PAI-Studio file preview" in finding.message and "HEAD" in finding.message

    def test_an_earlier_rule_that_answers_without_expose_headers_shadows_the_preset(self):
        shadow = {
            "allowedOrigins": ["https://*.console.aliyun.com"],
            "allowedMethods": ["GET"],
            "allowedHeaders": ["*"],
        }
        stack = [bucket(), cors_of(rules=[shadow, preset("itag"), preset("studio-preview")])]
        [itag, studio] = findings(stack, self.policy)
        assert {itag.resource_name, studio.resource_name} == {"data-cors"}
        assert "does not expose etag, x-oss-request-id" in itag.message

    def test_a_consumer_named_in_the_pack_config_needs_rules(self):
        stack = [bucket("plain"), bucket("data"), cors_of("data")]
        config = {self.policy: {"bucketConsumers": {"plain": ["itag"]}}}
        assert violators(stack, self.policy, config=config) == {"plain-bucket"}

    def test_a_consumer_named_by_tag_needs_rules(self):
        tagged = bucket(tags={**tags(), pai.CONSUMERS_TAG: "itag studio-preview"})
        stack = [tagged, cors_of(rules=[preset("studio-preview")])]
        [finding] = findings(stack, self.policy)
        assert "PAI iTAG labeling" in finding.message and "tag names it" in finding.message

    def test_a_tag_naming_no_known_consumer_is_reported(self):
        tagged = bucket(tags={**tags(), pai.CONSUMERS_TAG: "itag labelling"})
        [finding] = findings([tagged, cors_of()], self.policy)
        assert finding.resource_name == "data-bucket" and "labelling" in finding.message

    def test_a_bucket_serving_no_console_is_not_judged(self):
        other = {"allowedOrigins": ["https://app.example.com"], "allowedMethods": ["GET"]}
        assert findings([bucket(), cors_of(rules=[other])], self.policy) == []

    @pytest.mark.parametrize(
        ("rule", "expected"),
        [
            (preset("itag"), {"itag"}),
            (preset("studio-preview"), {"studio-preview"}),
            (
                {"allowedOrigins": ["http://*.console.aliyun.com"], "allowedMethods": ["GET"]},
                {"studio-preview"},
            ),
            ({"allowedOrigins": ["*"], "allowedMethods": ["GET"], "allowedHeaders": ["*"]}, set()),
            (
                {"allowedOrigins": ["https://*.console.aliyun.com"], "allowedMethods": ["GET"]},
                set(),
            ),
        ],
    )
    def test_which_consumers_a_rule_is_written_for(self, rule, expected):
        assert pai.served_consumers([cors.rule_from_engine(rule)]) == expected


@covers("pai-itag-vary-origin")
class TestItagVaryOrigin:
    policy = "pai-itag-vary-origin"

    def test_an_itag_bucket_with_vary_passes(self):
        assert findings(sound_bucket(), self.policy) == []

    def test_an_itag_bucket_with_response_vary_false_is_reported(self):
        stack = [bucket(), cors_of(vary=False)]
        assert violators(stack, self.policy) == {"data-cors"}
        assert levels(stack, self.policy) == {"mandatory"}

    def test_a_studio_only_bucket_may_skip_vary(self):
        stack = [bucket(), cors_of(rules=[preset("studio-preview")], vary=False)]
        assert findings(stack, self.policy) == []

    def test_an_itag_bucket_named_in_config_without_cors_is_reported(self):
        config = {self.policy: {"itagBuckets": ["data"]}}
        [finding] = findings([bucket()], self.policy, config=config)
        assert finding.resource_name == "data-bucket" and "has none" in finding.message


@covers("oss-cors-origin-allowlist")
class TestCorsOriginAllowlist:
    policy = "oss-cors-origin-allowlist"

    def test_console_origins_pass(self):
        assert findings(sound_bucket(), self.policy) == []

    def test_every_origin_and_outside_origins_are_reported(self):
        star = {"allowedOrigins": ["*"], "allowedMethods": ["GET"]}
        outside = {"allowedOrigins": ["https://labeling.example.com"], "allowedMethods": ["GET"]}
        stack = [
            cors_of("a", rules=[star]),
            cors_of("b", rules=[outside]),
            cors_of("c"),
            bucket("d", corsRules=[outside]),
        ]
        assert violators(stack, self.policy) == {"a-cors", "b-cors", "d-bucket"}
        assert levels(stack, self.policy) == {"mandatory"}

    def test_the_allowlist_is_configurable_but_never_admits_every_origin(self):
        outside = {"allowedOrigins": ["https://labeling.example.com"], "allowedMethods": ["GET"]}
        star = {"allowedOrigins": ["*"], "allowedMethods": ["GET"]}
        config = {self.policy: {"allowedOrigins": ["https://*.example.com", "*"]}}
        stack = [cors_of("b", rules=[outside]), cors_of("a", rules=[star])]
        assert violators(stack, self.policy, config=config) == {"a-cors"}

    @pytest.mark.parametrize(
        ("origin", "allowed", "within"),
        [
            ("https://pai.console.aliyun.com", "https://*.console.aliyun.com", True),
            ("https://*.console.aliyun.com", "https://*.console.aliyun.com", True),
            ("https://*.pai.console.aliyun.com", "https://*.console.aliyun.com", True),
            ("https://*.aliyun.com", "https://*.console.aliyun.com", False),
            ("http://pai.console.aliyun.com", "https://*.console.aliyun.com", False),
            ("https://*", "https://*.console.aliyun.com", False),
            ("https://a.example.com", "https://a.example.com", True),
            ("https://*.example.com", "https://a.example.com", False),
        ],
    )
    def test_origin_within_an_allowed_pattern(self, origin, allowed, within):
        assert pai.origin_within(origin, allowed) is within


@covers("pai-data-same-region")
class TestDataSameRegion:
    policy = "pai-data-same-region"

    def stack(self):
        return [bucket(), res(NAS_FILE_SYSTEM, "fs", encryptType=1, tags=tags())]

    def test_no_pai_region_means_not_applicable(self):
        verdict = review.evaluate(self.stack(), stack=STACK, project=PROJECT, region=REGION)
        assert [p for p, _ in verdict.not_applicable] == [self.policy]

    def test_data_in_the_pai_region_passes(self):
        config = {self.policy: {"paiRegion": REGION}}
        assert findings(self.stack(), self.policy, config=config) == []

    def test_data_outside_the_configured_pai_region_is_reported(self):
        config = {self.policy: {"paiRegion": "cn-shanghai"}}
        assert violators(self.stack(), self.policy, config=config) == {"data-bucket", "fs"}
        assert levels(self.stack(), self.policy, config=config) == {"mandatory"}

    def test_pai_resources_name_the_region_through_their_provider(self):
        beijing = res(PROVIDER, "beijing", region="cn-beijing")
        dataset = res("alicloud:pai/workspaceDataset:WorkspaceDataset", "ds", provider=beijing)
        stack = [beijing, dataset, *self.stack()]
        assert violators(stack, self.policy) == {"data-bucket", "fs"}
        moved = [beijing, dataset, bucket(provider=beijing)]
        assert findings(moved, self.policy) == []

    def test_a_provider_without_region_cannot_decide(self):
        config = {self.policy: {"paiRegion": "cn-shanghai"}}
        assert undecided(self.stack(), self.policy, config=config, region=None) == {
            "data-bucket",
            "fs",
        }


@covers("ram-service-linked-role-scoped")
class TestServiceLinkedRoleScoped:
    policy = "ram-service-linked-role-scoped"

    def test_the_kits_document_passes(self):
        document = documents.service_linked_role_document(allow_delete=True)
        assert findings([ram_policy(document=document)], self.policy) == []

    def test_the_unconditioned_statement_is_a_mandatory_violation(self):
        document = {
            "Version": "1",
            "Statement": [
                {"Effect": "Allow", "Action": "ram:CreateServiceLinkedRole", "Resource": "*"}
            ],
        }
        [finding] = findings([ram_policy(document=document)], self.policy)
        assert finding.level == "mandatory" and finding.resource_name == "eas"
        assert "ram:CreateServiceLinkedRole for every service" in finding.message

    def test_another_service_or_a_wildcard_grant_is_reported(self):
        other = documents.service_linked_role_document("ecs.aliyuncs.com")
        wildcard = allow("ram:*ServiceLinkedRole")
        denied = {
            "Version": "1",
            "Statement": [
                {"Effect": "Deny", "Action": "ram:CreateServiceLinkedRole", "Resource": "*"}
            ],
        }
        stack = [
            ram_policy("other", other),
            ram_policy("wildcard", wildcard),
            ram_policy("denied", denied),
        ]
        assert violators(stack, self.policy) == {"other", "wildcard"}

    def test_allowed_services_are_configurable(self):
        other = documents.service_linked_role_document("ecs.aliyuncs.com")
        config = {self.policy: {"allowedServiceNames": ["ecs.aliyuncs.com"]}}
        assert findings([ram_policy(document=other)], self.policy, config=config) == []


# --- OSS --------------------------------------------------------------------------------------


@covers("oss-bucket-acl-private")
class TestBucketAclPrivate:
    policy = "oss-bucket-acl-private"

    def test_public_acls_are_reported(self):
        stack = [
            res(BUCKET_ACL, "read", bucket="a", acl="public-read"),
            res(BUCKET_ACL, "private", bucket="b", acl="private"),
            bucket("c", acl="public-read-write"),
            bucket("d"),
        ]
        assert violators(stack, self.policy) == {"read", "c-bucket"}
        assert levels(stack, self.policy) == {"mandatory"}


@covers("oss-bucket-public-access-block")
class TestBucketPublicAccessBlock:
    policy = "oss-bucket-public-access-block"

    def test_buckets_without_a_blocking_resource_are_reported(self):
        stack = [
            *sound_bucket("blocked"),
            bucket("missing"),
            bucket("open"),
            res(BUCKET_PUBLIC_ACCESS_BLOCK, "open-pab", bucket="open", blockPublicAccess=False),
        ]
        assert violators(stack, self.policy) == {"missing-bucket", "open-bucket"}
        assert levels(stack, self.policy) == {"mandatory"}


@covers("oss-bucket-policy-no-anonymous")
class TestBucketPolicyNoAnonymous:
    policy = "oss-bucket-policy-no-anonymous"

    @staticmethod
    def document(effect: str, principal) -> str:
        return json.dumps(
            {
                "Version": "1",
                "Statement": [
                    {
                        "Effect": effect,
                        "Action": ["oss:GetObject"],
                        "Principal": principal,
                        "Resource": ["acs:oss:*:*:data/*"],
                    }
                ],
            }
        )

    def test_anonymous_allows_are_reported(self):
        stack = [
            res(BUCKET_POLICY, "anyone", bucket="a", policy=self.document("Allow", ["*"])),
            res(BUCKET_POLICY, "named", bucket="b", policy=self.document("Allow", ["1234"])),
            res(BUCKET_POLICY, "deny", bucket="c", policy=self.document("Deny", "*")),
            res(BUCKET_POLICY, "broken", bucket="d", policy="{not json"),
            bucket("e", policy=self.document("Allow", "*")),
        ]
        assert violators(stack, self.policy) == {"anyone", "broken", "e-bucket"}
        assert levels(stack, self.policy) == {"mandatory"}


@covers("oss-bucket-encryption")
class TestBucketEncryption:
    policy = "oss-bucket-encryption"

    def test_unencrypted_buckets_are_reported(self):
        stack = [
            bucket("plain", serverSideEncryptionRule=None),
            bucket("separate", serverSideEncryptionRule=None),
            res(BUCKET_SERVER_SIDE_ENCRYPTION, "sse", bucket="separate", sseAlgorithm="KMS"),
            bucket("aes"),
        ]
        assert violators(stack, self.policy) == {"plain-bucket"}
        assert levels(stack, self.policy) == {"mandatory"}

    def test_kms_where_the_environment_requires_it(self):
        kms = {"sseAlgorithm": "KMS", "kmsMasterKeyId": "key-1"}
        stack = [
            bucket("aes", "prod"),
            bucket("kms", "prod", serverSideEncryptionRule=kms),
            bucket("dev", "dev"),
        ]
        config = {self.policy: {"kmsRequiredEnvironments": ["prod"]}}
        assert violators(stack, self.policy, config=config) == {"aes-bucket"}


@covers("oss-bucket-versioning")
class TestBucketVersioning:
    policy = "oss-bucket-versioning"

    def test_protected_buckets_without_versions_are_reported(self):
        enabled = {"status": "Enabled"}
        stack = [
            bucket("off", "prod"),
            bucket("on", "prod", versioning=enabled),
            bucket("separate", "prod"),
            res(BUCKET_VERSIONING, "v", bucket="separate", status="Enabled"),
            bucket("dev", "dev"),
        ]
        assert violators(stack, self.policy) == {"off-bucket"}
        assert levels(stack, self.policy) == {"mandatory"}

    def test_protected_environments_are_configurable(self):
        config = {self.policy: {"protectedEnvironments": ["dev", "prod"]}}
        assert violators([bucket("dev", "dev")], self.policy, config=config) == {"dev-bucket"}


@covers("oss-bucket-access-logging")
class TestBucketAccessLogging:
    policy = "oss-bucket-access-logging"

    def test_buckets_without_logs_are_advised(self):
        stack = [
            bucket("silent"),
            bucket("inline", logging={"targetBucket": "logs", "targetPrefix": "inline/"}),
            bucket("separate"),
            res(BUCKET_LOGGING, "log", bucket="separate", targetBucket="logs"),
        ]
        assert violators(stack, self.policy) == {"silent-bucket"}
        assert levels(stack, self.policy) == {"advisory"}


@covers("oss-bucket-https-only")
class TestBucketHttpsOnly:
    policy = "oss-bucket-https-only"

    def test_buckets_that_answer_plain_http_are_advised(self):
        deny_http = json.dumps(
            {
                "Version": "1",
                "Statement": [
                    {
                        "Effect": "Deny",
                        "Action": ["oss:*"],
                        "Principal": ["*"],
                        "Resource": ["acs:oss:*:*:secure/*"],
                        "Condition": {"Bool": {"acs:SecureTransport": ["false"]}},
                    }
                ],
            }
        )
        stack = [
            bucket("plain"),
            bucket("secure"),
            res(BUCKET_POLICY, "https", bucket="secure", policy=deny_http),
        ]
        assert violators(stack, self.policy) == {"plain-bucket"}
        assert levels(stack, self.policy) == {"advisory"}


@covers("oss-bucket-tls-version")
class TestBucketTlsVersion:
    policy = "oss-bucket-tls-version"

    def test_old_tls_or_a_disabled_configuration_is_advised(self):
        stack = [
            res(
                BUCKET_HTTPS_CONFIG,
                "old",
                bucket="a",
                enable=True,
                tlsVersions=["TLSv1.1", "TLSv1.2"],
            ),
            res(BUCKET_HTTPS_CONFIG, "off", bucket="b", enable=False),
            res(
                BUCKET_HTTPS_CONFIG,
                "good",
                bucket="c",
                enable=True,
                tlsVersions=["TLSv1.2", "TLSv1.3"],
            ),
        ]
        assert violators(stack, self.policy) == {"old", "off"}
        assert levels(stack, self.policy) == {"advisory"}


@covers("oss-cors-single-owner")
class TestCorsSingleOwner:
    policy = "oss-cors-single-owner"

    def test_the_kits_shape_passes_in_either_spelling(self):
        python_spelling = res(BUCKET, "b-bucket", bucket="b", ignore=("cors_rules",))
        stack = [*sound_bucket("a"), python_spelling, cors_of("b")]
        assert findings(stack, self.policy) == []

    def test_two_owners_are_reported(self):
        inline = res(BUCKET, "inline-bucket", bucket="inline", corsRules=[preset("itag")])
        watching = res(BUCKET, "watching-bucket", bucket="watching")
        stack = [
            inline,
            cors_of("inline"),
            watching,
            cors_of("watching"),
            bucket("twice"),
            cors_of("twice", resource="twice-a"),
            cors_of("twice", resource="twice-b"),
            res(BUCKET, "alone-bucket", bucket="alone", corsRules=[preset("itag")]),
        ]
        assert violators(stack, self.policy) == {"inline-bucket", "watching-bucket", "twice-b"}
        assert levels(stack, self.policy) == {"mandatory"}
        [inline_finding] = [
            f for f in findings(stack, self.policy) if f.resource_name == "inline-bucket"
        ]
        assert "also declares corsRules" in inline_finding.message


# --- RAM --------------------------------------------------------------------------------------


@covers("ram-no-admin-statement")
class TestNoAdminStatement:
    policy = "ram-no-admin-statement"

    def test_statements_allowing_every_action_are_reported(self):
        stack = [
            ram_policy("star", allow("*")),
            ram_policy("star-star", allow(["oss:GetObject", "*:*"])),
            ram_policy(
                "not-action",
                {
                    "Version": "1",
                    "Statement": [{"Effect": "Allow", "NotAction": "ram:*", "Resource": "*"}],
                },
            ),
            ram_policy(
                "deny-all",
                {"Version": "1", "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]},
            ),
            ram_policy("scoped"),
        ]
        assert violators(stack, self.policy) == {"star", "star-star", "not-action"}
        assert levels(stack, self.policy) == {"mandatory"}


@covers("ram-no-service-wildcard")
class TestNoServiceWildcard:
    policy = "ram-no-service-wildcard"

    def test_whole_service_wildcards_are_reported_unless_allowlisted(self):
        stack = [
            ram_policy("ram-star", allow("ram:*")),
            ram_policy("oss-star", allow(["oss:*", "ecs:DescribeInstances"])),
            ram_policy("oss-get", allow("oss:Get*")),
        ]
        assert violators(stack, self.policy) == {"ram-star", "oss-star"}
        assert levels(stack, self.policy) == {"mandatory"}
        config = {self.policy: {"allowedWildcardActions": ["oss:*"]}}
        assert violators(stack, self.policy, config=config) == {"ram-star"}


@covers("ram-policy-document-valid")
class TestPolicyDocumentValid:
    policy = "ram-policy-document-valid"

    def test_documents_outside_the_grammar_are_reported(self):
        long = json.dumps(allow([f"oss:GetObject{i}" for i in range(600)]))
        stack = [
            ram_policy(
                "version",
                {
                    "Version": "2",
                    "Statement": [{"Effect": "Allow", "Action": "oss:GetObject", "Resource": "*"}],
                },
            ),
            ram_policy("too-long", long),
            ram_policy("not-json", "{"),
            ram_policy("good"),
        ]
        assert len(long) > documents.MAX_DOCUMENT_CHARS
        assert violators(stack, self.policy) == {"version", "too-long", "not-json"}
        assert levels(stack, self.policy) == {"mandatory"}


@covers("ram-policy-rotate-strategy")
class TestPolicyRotateStrategy:
    policy = "ram-policy-rotate-strategy"

    def test_policies_without_rotation_are_reported(self):
        stack = [
            ram_policy("none", rotateStrategy=None),
            ram_policy("kept", rotateStrategy="None"),
            ram_policy("good"),
        ]
        assert violators(stack, self.policy) == {"none", "kept"}
        assert levels(stack, self.policy) == {"mandatory"}


@covers("ram-attach-to-groups")
class TestAttachToGroups:
    policy = "ram-attach-to-groups"

    def test_user_attachments_are_advised(self):
        stack = [
            res(
                RAM_USER_POLICY_ATTACHMENT,
                "user-alice",
                userName="alice",
                policyName="eas",
                policyType="Custom",
            ),
            res(
                GROUP_ATTACHMENT,
                "group-dev",
                groupName="dev",
                policyName="eas",
                policyType="Custom",
            ),
        ]
        assert violators(stack, self.policy) == {"user-alice"}
        assert levels(stack, self.policy) == {"advisory"}


# --- NAS --------------------------------------------------------------------------------------


@covers("nas-encryption-at-rest")
class TestNasEncryption:
    policy = "nas-encryption-at-rest"

    def test_unencrypted_file_systems_are_reported(self):
        stack = [
            res(NAS_FILE_SYSTEM, "none", encryptType=0),
            res(NAS_FILE_SYSTEM, "unset"),
            res(NAS_FILE_SYSTEM, "managed", encryptType=1),
            res(NAS_FILE_SYSTEM, "kms", fileSystemType="extreme", encryptType=2.0),
        ]
        assert violators(stack, self.policy) == {"none", "unset"}
        assert levels(stack, self.policy) == {"mandatory"}


@covers("nas-no-default-access-group")
class TestNoDefaultAccessGroup:
    policy = "nas-no-default-access-group"

    def test_the_default_group_is_a_mandatory_violation(self):
        stack = [
            res(NAS_MOUNT_TARGET, "default", accessGroupName="DEFAULT_VPC_GROUP_NAME"),
            res(NAS_MOUNT_TARGET, "unset"),
            res(NAS_MOUNT_TARGET, "kit", accessGroupName="pai-dev-dsw"),
        ]
        assert violators(stack, self.policy) == {"default", "unset"}
        assert levels(stack, self.policy) == {"mandatory"}

    def test_the_default_groups_own_rules_are_not_judged(self):
        rule = res(
            NAS_ACCESS_RULE,
            "builtin",
            accessGroupName="DEFAULT_VPC_GROUP_NAME",
            sourceCidrIp="0.0.0.0/0",
        )
        verdict = review.evaluate([rule], stack=STACK, project=PROJECT, region=REGION)
        assert verdict.findings == []


@covers("nas-access-rule-not-open")
class TestAccessRuleNotOpen:
    policy = "nas-access-rule-not-open"

    def test_rules_open_to_every_address_are_mandatory_violations(self):
        stack = [
            res(NAS_ACCESS_RULE, "open", accessGroupName="g", sourceCidrIp="0.0.0.0/0"),
            res(NAS_ACCESS_RULE, "open6", accessGroupName="g", ipv6SourceCidrIp="::/0"),
            res(NAS_ACCESS_RULE, "vswitch", accessGroupName="g", sourceCidrIp="10.42.1.0/24"),
        ]
        assert violators(stack, self.policy) == {"open", "open6"}
        assert levels(stack, self.policy) == {"mandatory"}

    def test_spellings_and_halves_of_the_whole_internet_are_violations_too(self):
        wide = {
            "half-a": "0.0.0.0/1", "half-b": "128.0.0.0/1", "host-bits": "1.2.3.4/0",
            "padded": "0.0.0.0/0 ", "slash-7": "10.0.0.0/7", "garbled": "0/0/0",
        }  # fmt: skip
        stack = [res(NAS_ACCESS_RULE, n, accessGroupName="g", sourceCidrIp=c)
                 for n, c in wide.items()]  # fmt: skip
        stack += [
            res(NAS_ACCESS_RULE, "v6-long", accessGroupName="g", ipv6SourceCidrIp="0:0::0/0"),
            res(NAS_ACCESS_RULE, "v6-half", accessGroupName="g", ipv6SourceCidrIp="8000::/1"),
            res(NAS_ACCESS_RULE, "slash-8", accessGroupName="g", sourceCidrIp="10.0.0.0/8"),
            res(NAS_ACCESS_RULE, "v6-vpc", accessGroupName="g", ipv6SourceCidrIp="2408:4000::/56"),
        ]
        assert violators(stack, self.policy) == {*wide, "v6-long", "v6-half"}


@covers("nas-file-system-type-match")
class TestFileSystemTypeMatch:
    policy = "nas-file-system-type-match"

    def test_rules_and_mount_targets_that_disagree_with_the_group_are_reported(self):
        standard = res(NAS_FILE_SYSTEM, "standard-fs", fileSystemType="standard")
        extreme = res(NAS_FILE_SYSTEM, "extreme-fs", fileSystemType="extreme")
        stack = [
            standard,
            extreme,
            res(NAS_ACCESS_GROUP, "group", accessGroupName="dsw", fileSystemType="standard"),
            res(NAS_ACCESS_RULE, "same", accessGroupName="dsw", fileSystemType="standard"),
            res(NAS_ACCESS_RULE, "defaulted", accessGroupName="dsw"),
            res(NAS_ACCESS_RULE, "other", accessGroupName="dsw", fileSystemType="extreme"),
            res(NAS_ACCESS_RULE, "elsewhere", accessGroupName="managed-outside"),
            res(
                NAS_MOUNT_TARGET,
                "mt-standard",
                accessGroupName="dsw",
                deps=(standard,),
                fileSystemId="standard-id",
            ),
            res(
                NAS_MOUNT_TARGET,
                "mt-extreme",
                accessGroupName="dsw",
                deps=(extreme,),
                fileSystemId="extreme-id",
            ),
        ]
        assert violators(stack, self.policy) == {"other", "mt-extreme"}
        assert levels(stack, self.policy) == {"mandatory"}


@covers("nas-network-only-on-cpfs")
class TestNetworkOnlyOnCpfs:
    policy = "nas-network-only-on-cpfs"

    def test_a_general_purpose_file_system_with_a_vpc_is_reported(self):
        stack = [
            res(NAS_FILE_SYSTEM, "vpc", fileSystemType="standard", vpcId="vpc-1"),
            res(NAS_FILE_SYSTEM, "vswitch", vswitchId="vsw-1"),
            res(NAS_FILE_SYSTEM, "cpfs", fileSystemType="cpfs", vpcId="vpc-1", vswitchId="vsw-1"),
            res(NAS_FILE_SYSTEM, "plain", fileSystemType="standard"),
        ]
        assert violators(stack, self.policy) == {"vpc", "vswitch"}
        assert levels(stack, self.policy) == {"mandatory"}


# --- the stack as a whole ---------------------------------------------------------------------


@covers("required-tags")
class TestRequiredTags:
    policy = "required-tags"

    def test_taggable_resources_without_the_kits_tags_are_reported(self):
        partial = {"environment": "dev", "project": "pai"}
        stack = [
            bucket("tagged"),
            bucket("partial", tags=partial),
            res(NAS_FILE_SYSTEM, "untagged"),
            res(BUCKET_ACL, "acl", bucket="tagged", acl="private"),
            res("alicloud:other/thing:Thing", "thing", tags={"environment": "dev"}),
            res("alicloud:vpc/network:Network", "empty", tags={**tags(), "cost-owner": ""}),
        ]
        assert violators(stack, self.policy) == {"partial-bucket", "untagged", "thing", "empty"}
        assert levels(stack, self.policy) == {"mandatory"}

    def test_required_tags_are_configurable(self):
        config = {self.policy: {"requiredTags": ["team"]}}
        assert violators([bucket()], self.policy, config=config) == {"data-bucket"}


@covers("data-protected-from-deletion")
class TestDataProtectedFromDeletion:
    policy = "data-protected-from-deletion"

    def test_unprotected_data_of_protected_environments_is_reported(self):
        stack = [
            bucket("open", "prod"),
            bucket("safe", "prod", protect=True),
            bucket("scratch", "dev"),
            res(NAS_FILE_SYSTEM, "fs", tags=tags("prod")),
            res(NAS_FILE_SYSTEM, "by-urn", stack="prod"),
            bucket("wiped", "prod", protect=True, forceDestroy=True),
        ]
        assert violators(stack, self.policy) == {"open-bucket", "fs", "by-urn", "wiped-bucket"}
        assert levels(stack, self.policy) == {"mandatory"}

    def test_protected_environments_are_configurable(self):
        config = {self.policy: {"protectedEnvironments": []}}
        assert findings([bucket("open", "prod")], self.policy, config=config) == []


def test_mount_targets_on_either_built_in_group_or_on_none_are_violations():
    named_only = res(NAS_MOUNT_TARGET, "named-only")
    named_only.inputs["name"] = "kit-group"  # not a mount target input: NAS uses the default
    stack = [
        res(NAS_MOUNT_TARGET, "classic", accessGroupName="DEFAULT_CLASSIC_GROUP_NAME"),
        named_only,
        res(NAS_MOUNT_TARGET, "kit", accessGroupName="kit-group"),
    ]
    assert violators(stack, "nas-no-default-access-group") == {"classic", "named-only"}


def test_a_boolean_is_no_encryption_type():
    stack = [
        res(NAS_FILE_SYSTEM, "bool", encryptType=True),
        res(NAS_FILE_SYSTEM, "managed", encryptType=1),
    ]
    assert violators(stack, "nas-encryption-at-rest") == {"bool"}


def test_the_environment_tag_is_read_whatever_its_case_and_spacing():
    stack = [
        bucket("loud", "PROD "),
        bucket("quiet", "prod", protect=True, versioning={"status": "Enabled"}),
    ]
    assert violators(stack, "data-protected-from-deletion") == {"loud-bucket"}


def test_wildcards_spelt_otherwise_are_still_whole_services():
    for action in ("oss:**", "oss:?*", "oss:*?", "ecs:**"):
        document = {"Version": "1", "Statement": [
            {"Effect": "Allow", "Action": action, "Resource": "*"}]}  # fmt: skip
        assert violators([ram_policy("p", document)], "ram-no-service-wildcard") == {"p"}, action


def test_a_document_nested_too_deeply_is_reported_not_raised():
    deep = '{"Version":"1","Statement":' + "[" * 3000 + "]" * 3000 + "}"
    assert violators([ram_policy("deep", deep)], "ram-policy-document-valid") == {"deep"}


def test_a_pack_config_level_that_is_no_text_is_a_config_error():
    with pytest.raises(review.PackConfigError, match="enforcementLevel must be one of"):
        review.evaluate([], stack=STACK, project=PROJECT, region=REGION,
                        config={"all": {"enforcementLevel": []}})  # fmt: skip


def test_a_tagged_studio_only_bucket_needs_no_vary_even_with_a_star_header_rule():
    studio = dict(preset("studio-preview"), allowedHeaders=["*"])
    stack = [
        bucket("studio", **{"tags": tags("dev", **{"pai-consumers": "studio-preview"})}),
        res(BUCKET_ACL, "studio-acl", bucket="studio", acl="private"),
        res(BUCKET_PUBLIC_ACCESS_BLOCK, "studio-pab", bucket="studio", blockPublicAccess=True),
        cors_of("studio", rules=[studio], vary=False),
    ]
    assert violators(stack, "pai-itag-vary-origin") == set()
    assert violators(stack, "pai-cors-consumer-coverage") == set()


def test_admin_system_policies_attached_by_name_are_violations():
    stack = [
        res(GROUP_ATTACHMENT, "admins", groupName="ops", policyName="AdministratorAccess",
            policyType="System"),
        res(GROUP_ATTACHMENT, "readers", groupName="ops", policyName="AliyunOSSReadOnlyAccess",
            policyType="System"),
    ]  # fmt: skip
    assert violators(stack, "ram-no-admin-statement") == {"admins"}
    assert levels(stack, "ram-no-admin-statement") == {"mandatory"}


def test_a_kms_key_of_its_own_is_for_extreme_nas_only():
    stack = [
        res(NAS_FILE_SYSTEM, "standard-kms", fileSystemType="standard", encryptType=2),
        res(NAS_FILE_SYSTEM, "extreme-kms", fileSystemType="extreme", encryptType=2),
    ]
    assert violators(stack, "nas-encryption-at-rest") == {"standard-kms"}


def test_a_blank_required_tag_is_missing():
    blank = bucket("blank", **{"tags": tags("dev", **{"cost-owner": " "})})
    assert violators([blank], "required-tags") == {"blank-bucket"}
