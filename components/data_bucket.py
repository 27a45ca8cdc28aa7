"""A private, encrypted OSS bucket that the PAI consoles can read from the browser."""

from __future__ import annotations

import pulumi
import pulumi_alicloud.oss as oss

from paikit import cors
from paikit.config import BucketSettings


class DataBucket(pulumi.ComponentResource):
    """A PAI data bucket.

    Creates the bucket (encrypted, versioned where configured, tagged), a private ACL, a
    public-access block, access logging when a log bucket is given and, when any rule is
    configured, the bucket's one CORS resource.
    """

    bucket: oss.Bucket
    cors: oss.BucketCors | None

    def __init__(
        self,
        name: str,
        settings: BucketSettings,
        *,
        tags: dict[str, str],
        protected: bool,
        access_log_bucket: str | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("paikit:storage:DataBucket", name, None, opts)

        # The bucket never carries CORS rules itself: BucketCors owns them, and the bucket
        # ignores the live rules it reads back on refresh, so the two never fight.
        sse = oss.BucketServerSideEncryptionRuleArgs(
            sse_algorithm=settings.encryption,
            kms_master_key_id=settings.kms_key_id if settings.encryption == "KMS" else None,
        )
        versioning = oss.BucketVersioningArgs(
            status="Enabled" if settings.versioning else "Suspended"
        )
        self.bucket = oss.Bucket(
            f"{name}-bucket",
            bucket=settings.name,
            server_side_encryption_rule=sse,
            versioning=versioning if settings.versioning else None,
            redundancy_type=settings.redundancy_type,
            storage_class=settings.storage_class,
            force_destroy=settings.force_destroy,
            tags=_bucket_tags(tags, settings),
            opts=pulumi.ResourceOptions(
                parent=self,
                protect=protected,
                retain_on_delete=protected,
                ignore_changes=["cors_rules"],
            ),
        )

        # The guards stay with a retained bucket: deleting them must not open its data up.
        guard = pulumi.ResourceOptions(parent=self, retain_on_delete=protected)

        # The ACL on the bucket itself is deprecated; a separate resource keeps it private.
        self.acl = oss.BucketAcl(
            f"{name}-acl", bucket=self.bucket.bucket, acl="private", opts=guard
        )

        # OSS blocks public access by default for new buckets; stating it keeps it that way
        # when someone changes the account default.
        self.public_access_block = oss.BucketPublicAccessBlock(
            f"{name}-public-access-block",
            bucket=self.bucket.bucket,
            block_public_access=True,
            opts=guard,
        )

        # Logs go under the bucket's own prefix, so one log bucket serves every data bucket.
        self.logging = None
        if access_log_bucket:
            self.logging = oss.BucketLogging(
                f"{name}-logging",
                bucket=self.bucket.bucket,
                target_bucket=access_log_bucket,
                target_prefix=f"{settings.name}/",
                opts=pulumi.ResourceOptions(parent=self),
            )

        # PutBucketCors replaces the whole rule set, so one resource holds every rule in the
        # order OSS tries them. Vary: Origin lives only here.
        rules = settings.cors_rules
        self.cors = None
        if rules:
            self.cors = oss.BucketCors(
                f"{name}-cors",
                bucket=self.bucket.bucket,
                cors_rules=[oss.BucketCorsCorsRuleArgs(**rule.to_args()) for rule in rules],
                response_vary=settings.response_vary,
                opts=pulumi.ResourceOptions(parent=self),
            )

        self.bucket_name = self.bucket.bucket
        self.intranet_endpoint = self.bucket.intranet_endpoint
        self.extranet_endpoint = self.bucket.extranet_endpoint
        self.register_outputs(
            {
                "bucket_name": self.bucket_name,
                "intranet_endpoint": self.intranet_endpoint,
                "extranet_endpoint": self.extranet_endpoint,
            }
        )


def _bucket_tags(tags: dict[str, str], settings: BucketSettings) -> dict[str, str]:
    """The stack's tags, plus the PAI consumers the bucket serves, for reviewers and policies."""
    bucket_tags = dict(tags)
    if settings.pai_consumers:
        bucket_tags[cors.CONSUMERS_TAG] = " ".join(settings.pai_consumers)
    return bucket_tags
