"""The pack as the CLI runs it: started the way `pulumi preview --policy-pack policies` starts a
Python pack, then asked over the analyzer protocol on this machine's loopback."""

from __future__ import annotations

import os
import subprocess
import sys

import grpc
import pytest
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

from paikit.plan import ROOT
from policies import review
from policies.pack import PACK_NAME, POLICIES
from policies.rules.core import BUCKET, BUCKET_ACL, BUCKET_CORS

STACK_URN = "urn:pulumi:dev::pai-kit::"
LEVELS = {
    "advisory": analyzer_pb2.ADVISORY,
    "mandatory": analyzer_pb2.MANDATORY,
    "disabled": analyzer_pb2.DISABLED,
}


def struct(values: dict) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    message.update(values)
    return message


@pytest.fixture(scope="module")
def analyzer():
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")}
    # The language host runs `python -m pulumi.policy <engine> <pack folder>`; the pack then
    # prints the port of its analyzer server, bound to 127.0.0.1.
    process = subprocess.Popen(
        [sys.executable, "-u", "-m", "pulumi.policy", "127.0.0.1:0", str(ROOT / "policies")],
        cwd=ROOT / "policies",
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        port = process.stdout.readline().strip()
        assert port.isdigit(), process.stderr.read()
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        grpc.channel_ready_future(channel).result(timeout=30)
        stub = analyzer_pb2_grpc.AnalyzerStub(channel)
        # The CLI sends each policy's level and its schema defaults before any resource.
        settings = review.resolve_config(None)
        stub.Configure(
            analyzer_pb2.ConfigureAnalyzerRequest(
                policyConfig={
                    name: analyzer_pb2.PolicyConfig(
                        enforcementLevel=LEVELS[s.level.value], properties=struct(s.properties)
                    )
                    for name, s in settings.items()
                }
            )
        )
        yield stub
        channel.close()
    finally:
        process.kill()
        process.wait(timeout=10)
        process.stdout.close()
        process.stderr.close()


def analyze(stub, token: str, name: str, props: dict, region: str = "cn-hangzhou"):
    provider = analyzer_pb2.AnalyzerProviderResource(
        type="pulumi:providers:alicloud",
        properties=struct({"region": region}),
        urn=f"{STACK_URN}pulumi:providers:alicloud::default",
        name="default",
    )
    request = analyzer_pb2.AnalyzeRequest(
        type=token,
        properties=struct(props),
        urn=f"{STACK_URN}{token}::{name}",
        name=name,
        options=analyzer_pb2.AnalyzerResourceOptions(),
        provider=provider,
    )
    return list(stub.Analyze(request).diagnostics)


def test_the_pack_registers_every_policy_with_its_level_and_schema(analyzer):
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty())
    assert info.name == PACK_NAME
    assert [p.name for p in info.policies] == [p.name for p in POLICIES]
    for registered, policy in zip(info.policies, POLICIES, strict=True):
        assert registered.enforcementLevel == LEVELS[policy.enforcement_level.value]
        schema = policy.config_schema.properties if policy.config_schema else {}
        assert set(registered.configSchema.properties) == set(schema)


def test_a_public_acl_is_a_mandatory_diagnostic(analyzer):
    [diagnostic] = analyze(analyzer, BUCKET_ACL, "acl", {"bucket": "data", "acl": "public-read"})
    assert diagnostic.policyName == "oss-bucket-acl-private"
    assert diagnostic.enforcementLevel == analyzer_pb2.MANDATORY
    assert "anyone on the internet can read" in diagnostic.message


def test_an_unknown_value_is_an_advisory_cannot_run(analyzer):
    [diagnostic] = analyze(
        analyzer, BUCKET_ACL, "acl", {"bucket": "d", "acl": UNKNOWN_STRING_VALUE}
    )
    assert diagnostic.policyName == "oss-bucket-acl-private"
    assert diagnostic.enforcementLevel == analyzer_pb2.ADVISORY
    assert "during preview" in diagnostic.message


def test_internal_keys_are_ignored(analyzer):
    props = {
        "bucket": "data",
        "acl": "private",
        "__defaults": [UNKNOWN_STRING_VALUE],
        "__meta": UNKNOWN_STRING_VALUE,
    }
    assert analyze(analyzer, BUCKET_ACL, "acl", props) == []


def test_stack_rules_see_buckets_and_their_parts(analyzer):
    itag = {
        "allowedOrigins": ["https://*.console.aliyun.com"],
        "allowedMethods": ["GET", "POST", "PUT"],
        "allowedHeaders": ["*"],
        "exposeHeaders": ["etag", "x-oss-request-id"],
    }
    resources = [
        analyzer_pb2.AnalyzerResource(
            type=BUCKET,
            properties=struct({"bucket": "data", "tags": {"environment": "dev"}}),
            urn=f"{STACK_URN}{BUCKET}::data-bucket",
            name="data-bucket",
            options=analyzer_pb2.AnalyzerResourceOptions(ignoreChanges=["corsRules"]),
        ),
        analyzer_pb2.AnalyzerResource(
            type=BUCKET_CORS,
            properties=struct({"bucket": "data", "corsRules": [itag], "responseVary": False}),
            urn=f"{STACK_URN}{BUCKET_CORS}::data-cors",
            name="data-cors",
            options=analyzer_pb2.AnalyzerResourceOptions(),
        ),
    ]
    response = analyzer.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(resources=resources))
    reported = {(d.policyName, d.urn.rsplit("::", 1)[-1]) for d in response.diagnostics}
    assert ("pai-itag-vary-origin", "data-cors") in reported
    assert ("oss-bucket-public-access-block", "data-bucket") in reported
    assert ("oss-cors-single-owner", "data-bucket") not in reported
