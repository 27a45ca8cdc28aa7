"""Stack-wide: every charge traceable to an environment, project and owner, and data that
survives a mistaken delete in the environments that matter (REFERENCE 4)."""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from policies.rules.core import (
    BUCKET,
    MANDATORY,
    NAS_FILE_SYSTEM,
    PROTECTED_ENVIRONMENTS_SCHEMA,
    KitResourcePolicy,
    config_schema,
    environment_of,
    setting,
    strings,
    tags_of,
)
from policies.rules.taggable import TAGGABLE_TYPES

# --- required-tags ----------------------------------------------------------------------------

TAGS_SCHEMA = config_schema(
    requiredTags={
        "type": "array",
        "items": {"type": "string"},
        "default": ["environment", "project", "cost-owner"],
        "description": "Tag keys every taggable resource carries with a non-empty value.",
    },
)


def _validate_tags(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type not in TAGGABLE_TYPES and "tags" not in args.props:
        return
    tags = tags_of(args.props)
    missing = [
        key
        for key in strings(setting(args, TAGS_SCHEMA, "requiredTags"))
        if not isinstance(tags.get(key), str) or not tags.get(key).strip()
    ]
    if missing:
        report_violation(
            f"{args.name} lacks the tag{'s' if len(missing) > 1 else ''} {', '.join(missing)}. "
            "PAI bills by the hour and the bill names resources only by their tags, so its "
            "cost cannot be traced to an environment, project and owner. Fix: pass the kit's "
            "tags (settings.tags) to the resource."
        )


REQUIRED_TAGS = KitResourcePolicy(
    name="required-tags",
    description="Every taggable resource carries the environment, project and cost-owner tags.",
    validate=_validate_tags,
    enforcement_level=MANDATORY,
    severity=Severity.LOW,
    resource_types=("every taggable type",),
    config_schema=TAGS_SCHEMA,
)


# --- data-protected-from-deletion -------------------------------------------------------------

PROTECTION_SCHEMA = config_schema(protectedEnvironments=PROTECTED_ENVIRONMENTS_SCHEMA)


def _validate_protection(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type not in (BUCKET, NAS_FILE_SYSTEM):
        return
    environment = environment_of(args.props, args.urn)
    if environment not in strings(setting(args, PROTECTION_SCHEMA, "protectedEnvironments")):
        return
    kind = "Bucket" if args.resource_type == BUCKET else "NAS file system"
    if not args.opts.protect:
        report_violation(
            f"{kind} {args.name} holds data of protected environment {environment} but is not "
            "protected: a renamed resource, a refactor or `pulumi destroy` deletes it, and the "
            "data with it. Fix: create it with ResourceOptions(protect=True) (the kit does so "
            "for environments in its protectedEnvironments config)."
        )
    if args.resource_type == BUCKET and args.props.get("forceDestroy") is True:
        report_violation(
            f"Bucket {args.name} of protected environment {environment} sets force_destroy, "
            "so deleting it also deletes every object in it. Fix: remove force_destroy."
        )


DATA_PROTECTION = KitResourcePolicy(
    name="data-protected-from-deletion",
    description="Buckets and NAS file systems of protected environments are protected from "
    "deletion.",
    validate=_validate_protection,
    enforcement_level=MANDATORY,
    severity=Severity.HIGH,
    resource_types=(BUCKET, NAS_FILE_SYSTEM),
    config_schema=PROTECTION_SCHEMA,
)

POLICIES = (REQUIRED_TAGS, DATA_PROTECTION)
