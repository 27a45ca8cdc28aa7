"""RAM: least privilege, documents RAM accepts, policies that survive their sixth change, and
permissions granted to groups (REFERENCE 2)."""

from __future__ import annotations

import re

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from paikit import documents
from policies.rules.core import (
    ADVISORY,
    MANDATORY,
    RAM_POLICY,
    RAM_USER_POLICY_ATTACHMENT,
    KitResourcePolicy,
    config_schema,
    known,
    parse_document,
    ram_document,
    setting,
    statements,
    strings,
)

# A service prefix and an action made of wildcards only ('oss:*', 'oss:**', 'oss:?*'): the
# whole service, however it is spelt.
_SERVICE_WILDCARD = re.compile(r"^[A-Za-z0-9-]+:[*?]*\*[*?]*$")
_ADMIN_ACTIONS = ("*", "*:*")
# System policies that amount to administering the account, attached by name.
ADMIN_SYSTEM_POLICIES = ("AdministratorAccess", "AliyunRAMFullAccess")
ATTACHMENTS = (
    "alicloud:ram/userPolicyAttachment:UserPolicyAttachment",
    "alicloud:ram/groupPolicyAttachment:GroupPolicyAttachment",
    "alicloud:ram/rolePolicyAttachment:RolePolicyAttachment",
)


def _policy_statements(args: ResourceValidationArgs):
    """The statements of a RAM policy's document, or None when it is no document at all."""
    if args.resource_type != RAM_POLICY:
        return None
    document = parse_document(ram_document(args.props))
    return None if document is None else statements(document)


# --- ram-no-admin-statement -------------------------------------------------------------------


def _validate_admin(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type in ATTACHMENTS:
        policy = args.props.get("policyName")
        if args.props.get("policyType") == "System" and policy in ADMIN_SYSTEM_POLICIES:
            report_violation(
                f"Attachment {args.name} grants the system policy {policy}: whoever holds it "
                "administers the account (or all of RAM), deletes data and grants itself "
                "anything. Fix: attach a custom policy with the actions the principal needs."
            )
        return
    found = _policy_statements(args)
    if found is None:
        return
    name = known(args.props, "policyName", args.name)
    for index, statement in enumerate(found, start=1):
        if statement.get("Effect") != "Allow":
            continue
        admin = [a for a in strings(statement.get("Action")) if a in _ADMIN_ACTIONS]
        if admin:
            report_violation(
                f"Statement {index} of RAM policy {name} allows action {admin[0]}: whoever holds "
                "it administers the whole account, deletes data and grants itself anything. "
                "Fix: list the actions the principal needs, service by service."
            )
        elif "NotAction" in statement:
            report_violation(
                f"Statement {index} of RAM policy {name} allows every action except "
                f"{', '.join(strings(statement.get('NotAction')))} (Allow with NotAction): "
                "every new action of every service is granted too. Fix: allow the actions "
                "the principal needs with Action instead."
            )


ADMIN = KitResourcePolicy(
    name="ram-no-admin-statement",
    description="RAM policies never allow every action ('*' or '*:*'), nor are admin system "
    "policies attached.",
    validate=_validate_admin,
    enforcement_level=MANDATORY,
    severity=Severity.CRITICAL,
    resource_types=(RAM_POLICY, *ATTACHMENTS),
    maps_to=(
        "infraguard ram-policy-no-statements-with-admin-access-check",
        "KICS ram_policy_admin_access_not_attached_to_users_groups_roles",
    ),
)


# --- ram-no-service-wildcard ------------------------------------------------------------------

WILDCARD_SCHEMA = config_schema(
    allowedWildcardActions={
        "type": "array",
        "items": {"type": "string"},
        "default": [],
        "description": "Whole-service actions such as 'oss:*' that RAM policies may allow.",
    },
)


def _validate_wildcard(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    found = _policy_statements(args)
    if found is None:
        return
    allowed = {a.lower() for a in strings(setting(args, WILDCARD_SCHEMA, "allowedWildcardActions"))}
    name = known(args.props, "policyName", args.name)
    for index, statement in enumerate(found, start=1):
        if statement.get("Effect") != "Allow":
            continue
        wide = [
            a
            for a in strings(statement.get("Action"))
            if _SERVICE_WILDCARD.match(a) and a.lower() not in allowed
        ]
        if wide:
            report_violation(
                f"Statement {index} of RAM policy {name} allows {', '.join(wide)}: every action "
                "of the service, including deleting its resources and changing who may use "
                "them (for ram:*, granting any permission at all). Fix: list the actions the "
                "principal needs, or add the wildcard to allowedWildcardActions once reviewed."
            )


SERVICE_WILDCARD = KitResourcePolicy(
    name="ram-no-service-wildcard",
    description="RAM policies allow no whole-service wildcard such as 'ram:*' or 'oss:*' "
    "unless it is allowlisted.",
    validate=_validate_wildcard,
    enforcement_level=MANDATORY,
    severity=Severity.HIGH,
    resource_types=(RAM_POLICY,),
    config_schema=WILDCARD_SCHEMA,
)


# --- ram-policy-document-valid ----------------------------------------------------------------


def _validate_document(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type != RAM_POLICY:
        return
    problems = documents.grammar_problems(ram_document(args.props))
    if problems:
        report_violation(
            f"The document of RAM policy {known(args.props, 'policyName', args.name)} breaks "
            f"the RAM policy grammar: {'; '.join(problems)}. RAM refuses it, so the deployment "
            'fails half way. Fix: a JSON object with Version "1" and Statements of Effect, '
            f"Action, Resource and optional Condition, at most {documents.MAX_DOCUMENT_CHARS} "
            "characters (paikit.documents builds one)."
        )


DOCUMENT_VALID = KitResourcePolicy(
    name="ram-policy-document-valid",
    description="RAM policy documents follow the RAM grammar and fit in 6,144 characters.",
    validate=_validate_document,
    enforcement_level=MANDATORY,
    severity=Severity.MEDIUM,
    resource_types=(RAM_POLICY,),
)


# --- ram-policy-rotate-strategy ---------------------------------------------------------------


def _validate_rotate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type != RAM_POLICY:
        return
    strategy = args.props.get("rotateStrategy")
    if strategy != documents.ROTATE_STRATEGY:
        report_violation(
            f"RAM policy {known(args.props, 'policyName', args.name)} has rotate strategy "
            f"{strategy or 'None'}. A custom policy keeps at most 5 versions and each document "
            "change adds one, so the sixth change fails the deployment. Fix: set "
            f'rotate_strategy="{documents.ROTATE_STRATEGY}".'
        )


ROTATE_STRATEGY = KitResourcePolicy(
    name="ram-policy-rotate-strategy",
    description="Custom RAM policies rotate out their oldest version instead of failing "
    "at the sixth change.",
    validate=_validate_rotate,
    enforcement_level=MANDATORY,
    severity=Severity.LOW,
    resource_types=(RAM_POLICY,),
)


# --- ram-attach-to-groups ---------------------------------------------------------------------


def _validate_groups(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type != RAM_USER_POLICY_ATTACHMENT:
        return
    policy = known(args.props, "policyName", "a policy")
    user = known(args.props, "userName", args.name)
    report_violation(
        f"RAM policy {policy} is attached to user {user} directly. Permissions held by single "
        "users are hard to review and linger after people change teams. Fix: attach it to a "
        "RAM group and make the user a member (easPolicyGroups in the kit's config)."
    )


ATTACH_TO_GROUPS = KitResourcePolicy(
    name="ram-attach-to-groups",
    description="RAM policies are attached to groups rather than to single users.",
    validate=_validate_groups,
    enforcement_level=ADVISORY,
    severity=Severity.LOW,
    resource_types=(RAM_USER_POLICY_ATTACHMENT,),
    maps_to=("KICS ram_policy_attached_to_user",),
)

POLICIES = (ADMIN, SERVICE_WILDCARD, DOCUMENT_VALID, ROTATE_STRATEGY, ATTACH_TO_GROUPS)
