"""The PAI data bucket: private, encrypted, one owner of CORS, rules exactly as configured."""

import pulumi

from components.data_bucket import DataBucket
from paikit import cors
from tests.conftest import settings

BUCKET = "alicloud:oss/bucket:Bucket"
CORS = "alicloud:oss/bucketCors:BucketCors"
TAGS = {"environment": "dev", "project": "pai", "cost-owner": "ml"}


def _bucket(**keys):
    return settings(**keys).default_bucket


def _as_sets(rule: dict) -> dict:
    return {key: set(value) if isinstance(value, list) else value for key, value in rule.items()}


@pulumi.runtime.test
def test_bucket_is_private_encrypted_tagged_and_carries_no_cors(mocks):
    component = DataBucket("data", _bucket(buckets=[{"name": "team-data"}]), tags=TAGS,
                           protected=False)  # fmt: skip

    def check(_):
        [bucket] = mocks.of_type(BUCKET)
        assert bucket.inputs["bucket"] == "team-data"
        assert "corsRules" not in bucket.inputs
        assert "acl" not in bucket.inputs
        assert bucket.inputs["serverSideEncryptionRule"] == {"sseAlgorithm": "AES256"}
        assert bucket.inputs["tags"] == {**TAGS, "pai-consumers": "itag studio-preview"}
        assert bucket.inputs["forceDestroy"] is False
        [acl] = mocks.of_type("alicloud:oss/bucketAcl:BucketAcl")
        assert acl.inputs == {"bucket": "team-data", "acl": "private"}
        [block] = mocks.of_type("alicloud:oss/bucketPublicAccessBlock:BucketPublicAccessBlock")
        assert block.inputs == {"bucket": "team-data", "blockPublicAccess": True}

    return pulumi.Output.all(
        component.bucket_name,
        component.cors.urn,
        component.acl.urn,
        component.public_access_block.urn,
    ).apply(check)


@pulumi.runtime.test
def test_cors_resource_holds_both_presets_in_order_with_vary(mocks):
    component = DataBucket("data", _bucket(buckets=[{"name": "team-data",
                                                     "corsMaxAgeSeconds": 600}]),
                           tags=TAGS, protected=False)  # fmt: skip

    def check(_):
        [resource] = mocks.of_type(CORS)
        assert resource.inputs["bucket"] == "team-data"
        assert resource.inputs["responseVary"] is True
        rules = resource.inputs["corsRules"]
        assert [_as_sets(r) for r in rules] == [
            {
                "allowedOrigins": {"https://*.console.aliyun.com"},
                "allowedMethods": {"GET", "POST", "PUT"},
                "allowedHeaders": {"*"},
                "exposeHeaders": {"etag", "x-oss-request-id"},
                "maxAgeSeconds": 600,
            },
            {
                "allowedOrigins": {"https://*.console.aliyun.com", "http://*.console.aliyun.com"},
                "allowedMethods": {"PUT", "GET", "POST", "HEAD"},
                "allowedHeaders": set(cors.CONSUMERS["studio-preview"].headers),
                "exposeHeaders": {"etag", "x-oss-request-id"},
                "maxAgeSeconds": 600,
            },
        ]

    return component.cors.urn.apply(check)


@pulumi.runtime.test
def test_emitted_rules_answer_every_consumer_preflight_including_custom_rules(mocks):
    custom = {"allowedOrigins": ["https://labeling.example.com"], "allowedMethods": ["GET"],
              "allowedHeaders": ["*"], "exposeHeaders": ["etag"]}  # fmt: skip
    settings_ = _bucket(buckets=[{"name": "team-data", "customCorsRules": [custom],
                                  "customCorsRulesFirst": True}])  # fmt: skip
    component = DataBucket("data", settings_, tags=TAGS, protected=False)

    def check(_):
        [resource] = mocks.of_type(CORS)
        rules = [cors.rule_from_engine(r) for r in resource.inputs["corsRules"]]
        vary = resource.inputs["responseVary"]
        for preset in ("itag", "studio-preview"):
            consumer = cors.CONSUMERS[preset]
            for request in cors.consumer_requests(consumer):
                response = cors.evaluate(rules, request, response_vary=vary)
                assert response is not None, f"{preset}: {request}"
                assert request.method in response.allow_methods
                assert set(consumer.expose_headers) <= set(response.expose_headers)
                assert response.vary_origin
        app = cors.Request("https://labeling.example.com", "GET", ("x-any",))
        assert cors.evaluate(rules, app, response_vary=vary).rule_index == 0

    return component.cors.urn.apply(check)


@pulumi.runtime.test
def test_kms_encryption_and_versioning_come_from_settings(mocks):
    settings_ = settings(stack="prod", encryption="KMS", kmsKeyId="key-abc123",
                         buckets=[{"name": "prod-data"}]).default_bucket  # fmt: skip
    component = DataBucket("data", settings_, tags=TAGS, protected=True)

    def check(_):
        [bucket] = mocks.of_type(BUCKET)
        assert bucket.inputs["serverSideEncryptionRule"] == {
            "sseAlgorithm": "KMS",
            "kmsMasterKeyId": "key-abc123",
        }
        assert bucket.inputs["versioning"] == {"status": "Enabled"}
        assert bucket.inputs["redundancyType"] == "LRS"
        assert bucket.inputs["tags"]["pai-consumers"] == "itag studio-preview"

    return component.bucket_name.apply(check)


@pulumi.runtime.test
def test_a_bucket_without_consumers_or_rules_gets_no_cors_resource(mocks):
    settings_ = _bucket(buckets=[{"name": "plain-data", "paiConsumers": [],
                                  "responseVary": False}])  # fmt: skip
    component = DataBucket("data", settings_, tags=TAGS, protected=False)
    assert component.cors is None

    def check(_):
        assert mocks.of_type(CORS) == []
        assert "corsRules" not in mocks.of_type(BUCKET)[0].inputs

    return component.bucket_name.apply(check)


@pulumi.runtime.test
def test_access_logs_go_to_the_log_bucket_under_the_bucket_name(mocks):
    settings_ = settings(accessLogBucket="team-logs", buckets=[{"name": "team-data"}])
    component = DataBucket("data", settings_.default_bucket, tags=TAGS, protected=False,
                           access_log_bucket=settings_.access_log_bucket)  # fmt: skip

    def check(_):
        [logging] = mocks.of_type("alicloud:oss/bucketLogging:BucketLogging")
        assert logging.inputs == {
            "bucket": "team-data",
            "targetBucket": "team-logs",
            "targetPrefix": "team-data/",
        }

    return component.logging.urn.apply(check)


def test_no_log_bucket_no_logging_resource():
    component = DataBucket("data", _bucket(), tags=TAGS, protected=False)
    assert component.logging is None
