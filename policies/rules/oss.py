"""OSS: private, encrypted, versioned where it matters, reachable over HTTPS only, and one
owner for each bucket's CORS rules."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import (
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    Severity,
    StackValidationArgs,
)

from policies.rules.core import (
    ADVISORY,
    BUCKET,
    BUCKET_ACL,
    BUCKET_CORS,
    BUCKET_HTTPS_CONFIG,
    BUCKET_LOGGING,
    BUCKET_POLICY,
    BUCKET_PUBLIC_ACCESS_BLOCK,
    BUCKET_SERVER_SIDE_ENCRYPTION,
    BUCKET_VERSIONING,
    MANDATORY,
    PROTECTED_ENVIRONMENTS_SCHEMA,
    BucketView,
    KitResourcePolicy,
    KitStackPolicy,
    Pending,
    bucket_views,
    config_schema,
    environment_of,
    ignores,
    known,
    parse_document,
    setting,
    statements,
    strings,
)

PUBLIC_ACLS = ("public-read", "public-read-write")


# --- oss-bucket-acl-private -------------------------------------------------------------------


def _validate_acl(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type not in (BUCKET, BUCKET_ACL):
        return
    acl = args.props.get("acl")
    if acl in PUBLIC_ACLS:
        access = "read and overwrite" if acl == "public-read-write" else "read"
        report_violation(
            f"Bucket {known(args.props, 'bucket', args.name)} has ACL {acl}: anyone on the "
            f"internet can {access} its objects without signing in, training data and models "
            "included. Fix: set the ACL to private with oss.BucketAcl and let PAI reach the "
            "bucket through RAM and CORS."
        )


ACL = KitResourcePolicy(
    name="oss-bucket-acl-private",
    description="Bucket ACLs are never public-read or public-read-write.",
    validate=_validate_acl,
    enforcement_level=MANDATORY,
    severity=Severity.CRITICAL,
    resource_types=(BUCKET_ACL, BUCKET),
    maps_to=(
        "Checkov CKV_ALI_1",
        "infraguard oss-bucket-public-read-prohibited",
        "infraguard oss-bucket-public-write-prohibited",
        "KICS oss_bucket_public_access_enabled",
    ),
)


# --- oss-bucket-public-access-block -----------------------------------------------------------


def _validate_public_access_block(
    args: StackValidationArgs, report_violation: ReportViolation
) -> None:
    pending = Pending()
    for view in bucket_views(args.resources, pending):
        if view.resource is None:
            continue
        with pending.judging(view.resource):
            blocks = view.of(BUCKET_PUBLIC_ACCESS_BLOCK)
            if any(b.props.get("blockPublicAccess") is True for b in blocks):
                continue
            state = (
                "its BucketPublicAccessBlock sets blockPublicAccess to false"
                if blocks
                else "no BucketPublicAccessBlock blocks public access"
            )
            report_violation(
                f"Bucket {view.name}: {state}. A later ACL or bucket policy could then open it "
                "to the internet; the account-wide default does not protect a bucket whose "
                "setting someone changes. Fix: add oss.BucketPublicAccessBlock with "
                "block_public_access=True for the bucket.",
                view.resource.urn,
            )
    pending.settle()


PUBLIC_ACCESS_BLOCK = KitStackPolicy(
    name="oss-bucket-public-access-block",
    description="Every bucket has Block Public Access switched on by its own resource.",
    validate=_validate_public_access_block,
    enforcement_level=MANDATORY,
    severity=Severity.HIGH,
    resource_types=(BUCKET, BUCKET_PUBLIC_ACCESS_BLOCK),
    maps_to=("KICS oss_bucket_public_access_enabled (related)",),
)


# --- oss-bucket-policy-no-anonymous -----------------------------------------------------------


def _is_anyone(principal: Any) -> bool:
    if isinstance(principal, Mapping):
        return any(_is_anyone(value) for value in principal.values())
    return "*" in strings(principal)


def _validate_bucket_policy(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    if args.resource_type not in (BUCKET, BUCKET_POLICY):
        return
    raw = args.props.get("policy")
    if raw is None or raw == "":
        return
    bucket = known(args.props, "bucket", args.name)
    document = parse_document(raw)
    if document is None:
        report_violation(
            f"The bucket policy of {bucket} is not a JSON object, so nobody can tell whom it "
            "lets in, and OSS will refuse it. Fix: write it as a JSON policy document."
        )
        return
    for index, statement in enumerate(statements(document), start=1):
        if statement.get("Effect") == "Allow" and _is_anyone(statement.get("Principal")):
            actions = ", ".join(strings(statement.get("Action"))) or "its actions"
            report_violation(
                f"Statement {index} of the bucket policy of {bucket} allows {actions} to "
                "Principal '*': anonymous users anywhere can use the bucket, whatever its ACL "
                "says. Fix: name the RAM users, roles or account IDs that need access instead "
                "of '*'."
            )


BUCKET_POLICY_ANONYMOUS = KitResourcePolicy(
    name="oss-bucket-policy-no-anonymous",
    description="Bucket policies never allow anything to anonymous principals ('*').",
    validate=_validate_bucket_policy,
    enforcement_level=MANDATORY,
    severity=Severity.CRITICAL,
    resource_types=(BUCKET_POLICY, BUCKET),
    maps_to=(
        "infraguard oss-bucket-policy-no-any-anonymous",
        "infraguard oss-bucket-anonymous-prohibited",
        "KICS oss_bucket_allows_all_actions_from_all_principals (and the list, put and delete "
        "variants)",
    ),
)


# --- oss-bucket-encryption --------------------------------------------------------------------

ENCRYPTION_SCHEMA = config_schema(
    kmsRequiredEnvironments={
        "type": "array",
        "items": {"type": "string"},
        "default": [],
        "description": "Environments whose buckets must be encrypted with a KMS key.",
    },
)


def _encryption(bucket: PolicyResource, view: BucketView) -> str | None:
    rule = bucket.props.get("serverSideEncryptionRule")
    if isinstance(rule, Mapping) and rule.get("sseAlgorithm"):
        return rule.get("sseAlgorithm")
    for part in view.of(BUCKET_SERVER_SIDE_ENCRYPTION):
        if part.props.get("sseAlgorithm"):
            return part.props.get("sseAlgorithm")
    return None


def _validate_encryption(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    kms_environments = strings(setting(args, ENCRYPTION_SCHEMA, "kmsRequiredEnvironments"))
    pending = Pending()
    for view in bucket_views(args.resources, pending):
        if view.resource is None:
            continue
        with pending.judging(view.resource):
            algorithm = _encryption(view.resource, view)
            environment = environment_of(view.resource.props, view.resource.urn)
            if algorithm is None:
                report_violation(
                    f"Bucket {view.name} has no server-side encryption: objects rest in plain "
                    "form, and a copy of the disks or a leaked backup exposes the data. Fix: set "
                    "server_side_encryption_rule with sse_algorithm AES256 or KMS.",
                    view.resource.urn,
                )
            elif environment in kms_environments and algorithm != "KMS":
                report_violation(
                    f"Bucket {view.name} is encrypted with {algorithm}, but environment "
                    f"{environment} requires a KMS key, whose use is audited and can be revoked. "
                    "Fix: set sse_algorithm KMS with kms_master_key_id.",
                    view.resource.urn,
                )
    pending.settle()


ENCRYPTION = KitStackPolicy(
    name="oss-bucket-encryption",
    description="Every bucket encrypts objects at rest, with KMS where the environment "
    "requires it.",
    validate=_validate_encryption,
    enforcement_level=MANDATORY,
    severity=Severity.HIGH,
    resource_types=(BUCKET, BUCKET_SERVER_SIDE_ENCRYPTION),
    maps_to=(
        "infraguard oss-bucket-server-side-encryption-enabled",
        "Checkov CKV_ALI_6 and infraguard oss-default-encryption-kms (with "
        "kmsRequiredEnvironments)",
        "KICS oss_bucket_cmk_encryption_disabled",
    ),
    config_schema=ENCRYPTION_SCHEMA,
)


# --- oss-bucket-versioning --------------------------------------------------------------------

VERSIONING_SCHEMA = config_schema(protectedEnvironments=PROTECTED_ENVIRONMENTS_SCHEMA)


def _versioned(bucket: PolicyResource, view: BucketView) -> bool:
    versioning = bucket.props.get("versioning")
    if isinstance(versioning, Mapping) and versioning.get("status") == "Enabled":
        return True
    return any(p.props.get("status") == "Enabled" for p in view.of(BUCKET_VERSIONING))


def _validate_versioning(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    protected = strings(setting(args, VERSIONING_SCHEMA, "protectedEnvironments"))
    pending = Pending()
    for view in bucket_views(args.resources, pending):
        if view.resource is None:
            continue
        with pending.judging(view.resource):
            environment = environment_of(view.resource.props, view.resource.urn)
            if environment in protected and not _versioned(view.resource, view):
                report_violation(
                    f"Bucket {view.name} in protected environment {environment} keeps no "
                    "versions: an overwrite or delete, by a person or a job, loses the data for "
                    "good. Fix: set versioning status Enabled on the bucket (versioning: true "
                    "in the kit's bucket config).",
                    view.resource.urn,
                )
    pending.settle()


VERSIONING = KitStackPolicy(
    name="oss-bucket-versioning",
    description="Buckets in protected environments keep object versions.",
    validate=_validate_versioning,
    enforcement_level=MANDATORY,
    severity=Severity.MEDIUM,
    resource_types=(BUCKET, BUCKET_VERSIONING),
    maps_to=(
        "Checkov CKV_ALI_10",
        "infraguard oss-bucket-versioning-enabled",
        "KICS oss_bucket_versioning_disabled",
    ),
    config_schema=VERSIONING_SCHEMA,
)


# --- oss-bucket-access-logging ----------------------------------------------------------------


def _validate_logging(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    pending = Pending()
    for view in bucket_views(args.resources, pending):
        if view.resource is None:
            continue
        with pending.judging(view.resource):
            logging = view.resource.props.get("logging")
            if isinstance(logging, Mapping) and logging.get("targetBucket"):
                continue
            if any(p.props.get("targetBucket") for p in view.of(BUCKET_LOGGING)):
                continue
            report_violation(
                f"Bucket {view.name} writes no access log, so nobody can tell afterwards who "
                "read or changed which object. Fix: add oss.BucketLogging with a target bucket "
                "for the logs.",
                view.resource.urn,
            )
    pending.settle()


ACCESS_LOGGING = KitStackPolicy(
    name="oss-bucket-access-logging",
    description="Every bucket writes access logs to a log bucket.",
    validate=_validate_logging,
    enforcement_level=ADVISORY,
    severity=Severity.LOW,
    resource_types=(BUCKET, BUCKET_LOGGING),
    maps_to=(
        "Checkov CKV_ALI_12",
        "infraguard oss-bucket-logging-enabled",
        "KICS oss_bucket_logging_disabled",
    ),
)


# --- oss-bucket-https-only --------------------------------------------------------------------


def _denies_plain_http(document: Mapping[str, Any]) -> bool:
    for statement in statements(document):
        if statement.get("Effect") != "Deny":
            continue
        condition = statement.get("Condition")
        clause = condition.get("Bool") if isinstance(condition, Mapping) else None
        if not isinstance(clause, Mapping):
            continue
        for key in clause:
            if str(key).lower() == "acs:securetransport":
                values = clause[key]
                values = values if isinstance(values, list | tuple) else [values]
                if any(str(v).lower() == "false" for v in values):
                    return True
    return False


def _validate_https_only(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    pending = Pending()
    for view in bucket_views(args.resources, pending):
        if view.resource is None:
            continue
        with pending.judging(view.resource):
            documents = [view.resource.props.get("policy")]
            documents += [p.props.get("policy") for p in view.of(BUCKET_POLICY)]
            parsed = [parse_document(d) for d in documents if d]
            if any(d is not None and _denies_plain_http(d) for d in parsed):
                continue
            report_violation(
                f"Bucket {view.name} still answers plain HTTP: requests and the data they carry "
                "can be read or changed on the way. Fix: add a bucket policy statement that "
                "denies every action when acs:SecureTransport is false.",
                view.resource.urn,
            )
    pending.settle()


HTTPS_ONLY = KitStackPolicy(
    name="oss-bucket-https-only",
    description="Every bucket's policy denies requests that do not use HTTPS.",
    validate=_validate_https_only,
    enforcement_level=ADVISORY,
    severity=Severity.MEDIUM,
    resource_types=(BUCKET, BUCKET_POLICY),
    maps_to=(
        "infraguard oss-bucket-only-https-enabled",
        "KICS oss_buckets_securetransport_disabled",
    ),
)


# --- oss-bucket-tls-version -------------------------------------------------------------------

OLD_TLS = ("TLSv1.0", "TLSv1.1")


def _validate_tls(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type != BUCKET_HTTPS_CONFIG:
        return
    bucket = known(args.props, "bucket", args.name)
    if args.props.get("enable") is not True:
        report_violation(
            f"The HTTPS configuration of bucket {bucket} is switched off, so OSS accepts every "
            "TLS version, including 1.0 and 1.1 with their known weaknesses. Fix: set "
            "enable=True with tls_versions ['TLSv1.2', 'TLSv1.3']."
        )
        return
    old = [v for v in strings(args.props.get("tlsVersions")) if v in OLD_TLS]
    if old:
        report_violation(
            f"Bucket {bucket} accepts {', '.join(old)}, TLS versions with known weaknesses. "
            "Fix: keep only TLSv1.2 and TLSv1.3 in tls_versions."
        )


TLS_VERSION = KitResourcePolicy(
    name="oss-bucket-tls-version",
    description="Bucket HTTPS configurations accept TLS 1.2 and later only.",
    validate=_validate_tls,
    enforcement_level=ADVISORY,
    severity=Severity.LOW,
    resource_types=(BUCKET_HTTPS_CONFIG,),
    maps_to=("infraguard oss-bucket-tls-version-check",),
)


# --- oss-cors-single-owner --------------------------------------------------------------------


def _validate_cors_owner(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    pending = Pending()
    for view in bucket_views(args.resources, pending):
        owners = view.of(BUCKET_CORS)
        for extra in owners[1:]:
            report_violation(
                f"Bucket {view.name} has {len(owners)} BucketCors resources. PutBucketCors "
                "replaces the whole rule set, so each one erases the others' rules on every "
                "update and the PAI consoles break in turns. Fix: keep one BucketCors holding "
                "every rule in the order OSS should try them.",
                extra.urn,
            )
        if not owners or view.resource is None:
            continue
        with pending.judging(view.resource):
            if ignores(view.resource.opts.ignore_changes, "corsRules"):
                continue
            inline = view.resource.props.get("corsRules")
            what = (
                "also declares corsRules itself"
                if inline
                else "does not ignore changes to corsRules"
            )
            report_violation(
                f"Bucket {view.name} {what} while BucketCors owns its CORS rules. The bucket "
                "reads the live rules back on every refresh and the two resources overwrite "
                "each other, so the consoles' rules come and go. Fix: keep the rules only in "
                "BucketCors and give the bucket ignore_changes=['cors_rules'].",
                view.resource.urn,
            )
    pending.settle()


CORS_SINGLE_OWNER = KitStackPolicy(
    name="oss-cors-single-owner",
    description="Each bucket's CORS rules are owned by exactly one resource.",
    validate=_validate_cors_owner,
    enforcement_level=MANDATORY,
    severity=Severity.HIGH,
    resource_types=(BUCKET, BUCKET_CORS),
)

POLICIES = (
    ACL,
    PUBLIC_ACCESS_BLOCK,
    BUCKET_POLICY_ANONYMOUS,
    ENCRYPTION,
    VERSIONING,
    ACCESS_LOGGING,
    HTTPS_ONLY,
    TLS_VERSION,
    CORS_SINGLE_OWNER,
)
