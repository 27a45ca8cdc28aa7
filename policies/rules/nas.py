"""NAS for PAI-DSW: encrypted file systems, mount targets behind the kit's own access group,
no rule open to the internet, and settings the provider can apply (REFERENCE 3)."""

from __future__ import annotations

import ipaddress
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
    MANDATORY,
    NAS_ACCESS_GROUP,
    NAS_ACCESS_RULE,
    NAS_FILE_SYSTEM,
    NAS_MOUNT_TARGET,
    KitResourcePolicy,
    KitStackPolicy,
    Pending,
    known,
    resource_name,
)

DEFAULT_GROUP = "DEFAULT_VPC_GROUP_NAME"
# Built-in groups: the VPC one, and the classic-network one of older file systems.
DEFAULT_GROUPS = (DEFAULT_GROUP, "DEFAULT_CLASSIC_GROUP_NAME")
DEFAULT_FILE_SYSTEM_TYPE = "standard"
# Wider than this is "the internet" in all but name: half of all IPv4 addresses at /1.
MIN_PREFIX = {4: 8, 6: 32}


def _file_system_type(props: Mapping[str, Any]) -> str:
    value = props.get("fileSystemType")
    return value if isinstance(value, str) and value else DEFAULT_FILE_SYSTEM_TYPE


def _group_name(props: Mapping[str, Any], *, resource_type: str = "") -> str | None:
    """The access group a resource names; on a group itself ``name`` is the deprecated
    spelling (a mount target has no ``name`` input, so it never counts there)."""
    value = props.get("accessGroupName")
    if value is None and resource_type != NAS_MOUNT_TARGET:
        value = props.get("name")
    return value if isinstance(value, str) and value else None


def _too_wide(cidr: Any) -> str | None:
    """Why a source CIDR admits (nearly) everyone, or None for a bounded block."""
    if not isinstance(cidr, str) or not cidr.strip():
        return None if cidr in (None, "") else "is not a CIDR block"
    try:
        network = ipaddress.ip_network(cidr.strip(), strict=False)
    except ValueError:
        return "is not a CIDR block, so NAS may read it in a way nobody reviewed"
    if network.prefixlen < MIN_PREFIX[network.version]:
        return f"spans /{network.prefixlen}, a large share of all addresses"
    return None


# --- nas-encryption-at-rest -------------------------------------------------------------------


def _validate_encryption(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type != NAS_FILE_SYSTEM:
        return
    encrypt_type = args.props.get("encryptType")
    if encrypt_type == 2 and _file_system_type(args.props) == DEFAULT_FILE_SYSTEM_TYPE:
        report_violation(
            f"NAS file system {args.name} asks for a KMS key of its own (encryptType 2), which "
            "only extreme NAS offers: creating the general-purpose file system fails. Fix: set "
            "encrypt_type=1 (NAS-managed key)."
        )
        return
    if isinstance(encrypt_type, bool) or encrypt_type not in (1, 2):
        report_violation(
            f"NAS file system {args.name} is not encrypted at rest (encryptType "
            f"{encrypt_type if encrypt_type is not None else 'unset, so 0'}): the notebooks, "
            "datasets and checkpoints DSW keeps on it rest in plain form. Encryption can only "
            "be chosen at creation. Fix: set encrypt_type=1 (NAS-managed key) or 2 (KMS key, "
            "extreme NAS only)."
        )


ENCRYPTION = KitResourcePolicy(
    name="nas-encryption-at-rest",
    description="NAS file systems are encrypted at rest.",
    validate=_validate_encryption,
    enforcement_level=MANDATORY,
    severity=Severity.HIGH,
    resource_types=(NAS_FILE_SYSTEM,),
    maps_to=(
        "infraguard nas-filesystem-encrypt-type-check",
        "KICS nas_file_system_not_encrypted",
    ),
)


# --- nas-no-default-access-group --------------------------------------------------------------


def _validate_default_group(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    if args.resource_type != NAS_MOUNT_TARGET:
        return
    group = _group_name(args.props, resource_type=NAS_MOUNT_TARGET)
    if group is None or group in DEFAULT_GROUPS:
        state = "uses" if group else "names no access group, so NAS applies"
        report_violation(
            f"Mount target {args.name} {state} {DEFAULT_GROUP}, which lets every address in "
            "the VPC read and write the file system and cannot be changed. Fix: create an "
            "access group with a rule for the DSW vSwitch only and name it in "
            "access_group_name."
        )


DEFAULT_ACCESS_GROUP = KitResourcePolicy(
    name="nas-no-default-access-group",
    description=f"NAS mount targets never use the built-in {DEFAULT_GROUP}.",
    validate=_validate_default_group,
    enforcement_level=MANDATORY,
    severity=Severity.HIGH,
    resource_types=(NAS_MOUNT_TARGET,),
    maps_to=("infraguard nas-filesystem-mount-target-access-group-check",),
)


# --- nas-access-rule-not-open -----------------------------------------------------------------


def _validate_open_rule(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type != NAS_ACCESS_RULE:
        return
    if _group_name(args.props) in DEFAULT_GROUPS:
        return  # the built-in group's rules are fixed; nas-no-default-access-group judges it
    for key in ("sourceCidrIp", "ipv6SourceCidrIp"):
        cidr = args.props.get(key)
        why = _too_wide(cidr)
        if why:
            report_violation(
                f"NAS access rule {args.name} in group "
                f"{known(args.props, 'accessGroupName', 'its group')} admits {cidr}, which "
                f"{why}: nearly any address may mount the file system, from any network the "
                "mount target is reachable from. Fix: set source_cidr_ip to the DSW vSwitch's "
                "CIDR block."
            )


OPEN_ACCESS_RULE = KitResourcePolicy(
    name="nas-access-rule-not-open",
    description="NAS access rules admit a bounded block, never (nearly) every address.",
    validate=_validate_open_rule,
    enforcement_level=MANDATORY,
    severity=Severity.CRITICAL,
    resource_types=(NAS_ACCESS_RULE,),
)


# --- nas-file-system-type-match ---------------------------------------------------------------


def _file_system_of(
    mount_target: PolicyResource, file_systems: dict[str, PolicyResource]
) -> PolicyResource | None:
    """The stack's file system a mount target belongs to, through its dependencies."""
    linked = mount_target.property_dependencies.get("fileSystemId") or mount_target.dependencies
    found = [file_systems[d.urn] for d in linked if d.urn in file_systems]
    return found[0] if len(found) == 1 else None


def _validate_types(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    pending = Pending()
    groups: dict[str, set[str]] = {}
    file_systems = {r.urn: r for r in args.resources if r.resource_type == NAS_FILE_SYSTEM}
    for resource in args.resources:
        if resource.resource_type == NAS_ACCESS_GROUP:
            with pending.judging(resource):
                name = _group_name(resource.props)
                if name:
                    groups.setdefault(name, set()).add(_file_system_type(resource.props))
    for resource in args.resources:
        if resource.resource_type not in (NAS_ACCESS_RULE, NAS_MOUNT_TARGET):
            continue
        with pending.judging(resource):
            name = _group_name(resource.props)
            if name is None or name == DEFAULT_GROUP or name not in groups:
                continue
            if resource.resource_type == NAS_ACCESS_RULE:
                wanted, what = _file_system_type(resource.props), "the rule's fileSystemType"
            else:
                file_system = _file_system_of(resource, file_systems)
                if file_system is None:
                    continue
                wanted = _file_system_type(file_system.props)
                what = f"file system {resource_name(file_system.urn)}"
            if wanted not in groups[name]:
                report_violation(
                    f"{resource_name(resource.urn)} uses access group {name}, whose "
                    f"fileSystemType is {', '.join(sorted(groups[name]))}, but {what} is "
                    f"{wanted}. NAS keeps access groups per file system type, so the rule or "
                    "mount target refers to a group that does not exist and creation fails. "
                    f"Fix: give the group, its rules and the file system the same "
                    "file_system_type.",
                    resource.urn,
                )
    pending.settle()


FILE_SYSTEM_TYPE_MATCH = KitStackPolicy(
    name="nas-file-system-type-match",
    description="NAS access rules, their access group and the file systems mounted through "
    "it agree on the file system type.",
    validate=_validate_types,
    enforcement_level=MANDATORY,
    severity=Severity.MEDIUM,
    resource_types=(NAS_ACCESS_RULE, NAS_ACCESS_GROUP, NAS_MOUNT_TARGET, NAS_FILE_SYSTEM),
)


# --- nas-network-only-on-cpfs -----------------------------------------------------------------


def _validate_network(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type != NAS_FILE_SYSTEM:
        return
    kind = _file_system_type(args.props)
    if kind == "cpfs":
        return
    network = [key for key in ("vpcId", "vswitchId") if args.props.get(key)]
    if network:
        report_violation(
            f"NAS file system {args.name} is a {kind} file system with {' and '.join(network)} "
            "set. Those apply to CPFS only; on general-purpose and extreme file systems they "
            "leave a permanent diff, so every update proposes to change the file system. Fix: "
            "remove them and put the network on the mount target."
        )


NETWORK_ONLY_ON_CPFS = KitResourcePolicy(
    name="nas-network-only-on-cpfs",
    description="Only CPFS file systems name a VPC or vSwitch; others get them from their "
    "mount targets.",
    validate=_validate_network,
    enforcement_level=MANDATORY,
    severity=Severity.MEDIUM,
    resource_types=(NAS_FILE_SYSTEM,),
)

POLICIES = (
    ENCRYPTION,
    DEFAULT_ACCESS_GROUP,
    OPEN_ACCESS_RULE,
    FILE_SYSTEM_TYPE_MATCH,
    NETWORK_ONLY_ON_CPFS,
)
