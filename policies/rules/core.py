"""What every rule shares: the kit's policy classes, config defaults, unknown values, and the
vocabulary of the Alibaba Cloud resources the rules read.

Rules see properties the way the analyzer hands them over: engine (camelCase) names, numbers
possibly as floats, and every container behind pulumi_policy's checking proxy, so that reading
a value the engine does not know yet raises ``UnknownValueError``. The analyzer reports that as
an advisory "can't run policy ... during preview"; the offline review lists it as "cannot
decide yet". Either way an unknown value is never a pass.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import (
    UNKNOWN_STRING_VALUE,
    UnknownValueError,
    _DictProxy,
    _ListProxy,
    unknown_checking_proxy,
)

MANDATORY = EnforcementLevel.MANDATORY
ADVISORY = EnforcementLevel.ADVISORY

BUCKET = "alicloud:oss/bucket:Bucket"
BUCKET_ACL = "alicloud:oss/bucketAcl:BucketAcl"
BUCKET_CORS = "alicloud:oss/bucketCors:BucketCors"
BUCKET_HTTPS_CONFIG = "alicloud:oss/bucketHttpsConfig:BucketHttpsConfig"
BUCKET_LOGGING = "alicloud:oss/bucketLogging:BucketLogging"
BUCKET_POLICY = "alicloud:oss/bucketPolicy:BucketPolicy"
BUCKET_PUBLIC_ACCESS_BLOCK = "alicloud:oss/bucketPublicAccessBlock:BucketPublicAccessBlock"
BUCKET_SERVER_SIDE_ENCRYPTION = "alicloud:oss/bucketServerSideEncryption:BucketServerSideEncryption"
BUCKET_VERSIONING = "alicloud:oss/bucketVersioning:BucketVersioning"
RAM_POLICY = "alicloud:ram/policy:Policy"
RAM_USER_POLICY_ATTACHMENT = "alicloud:ram/userPolicyAttachment:UserPolicyAttachment"
NAS_FILE_SYSTEM = "alicloud:nas/fileSystem:FileSystem"
NAS_MOUNT_TARGET = "alicloud:nas/mountTarget:MountTarget"
NAS_ACCESS_GROUP = "alicloud:nas/accessGroup:AccessGroup"
NAS_ACCESS_RULE = "alicloud:nas/accessRule:AccessRule"
PAI_TYPE_PREFIX = "alicloud:pai/"

# Resources that name their bucket in a ``bucket`` property.
BUCKET_PARTS = (
    BUCKET_ACL,
    BUCKET_CORS,
    BUCKET_HTTPS_CONFIG,
    BUCKET_LOGGING,
    BUCKET_POLICY,
    BUCKET_PUBLIC_ACCESS_BLOCK,
    BUCKET_SERVER_SIDE_ENCRYPTION,
    BUCKET_VERSIONING,
)

PROTECTED_ENVIRONMENTS_SCHEMA = {
    "type": "array",
    "items": {"type": "string"},
    "default": ["prod"],
    "description": "Environments (the resource's environment tag, else the stack name) whose "
    "data must survive mistakes.",
}


def without_internal_keys(value: Any) -> Any:
    """A plain copy of ``value`` without keys that start with ``__``, at any depth.

    Providers keep bookkeeping there (``__defaults``, ``__meta``); no rule judges it, and an
    unknown value hidden in it must not make a rule undecided. Unknown values elsewhere stay.
    """
    if isinstance(value, _DictProxy | _ListProxy):
        value = value["__target"]
    if isinstance(value, Mapping):
        return {
            key: without_internal_keys(item)
            for key, item in value.items()
            if not str(key).startswith("__")
        }
    if isinstance(value, list | tuple):
        return [without_internal_keys(item) for item in value]
    return value


class _CleanProps(_DictProxy):
    """Properties without internal keys, behind the checking proxy: cleaning them again is a
    no-op, so the offline review cleans each resource once for all the rules."""


def _clean(props: Mapping[str, Any]) -> Mapping[str, Any]:
    if isinstance(props, _CleanProps):
        return props
    proxy = unknown_checking_proxy(without_internal_keys(props))
    return _CleanProps(proxy["__target"], [])


def _on_clean_resource(validate):
    def run(args: ResourceValidationArgs, report_violation: ReportViolation):
        args.props = _clean(args.props)
        return validate(args, report_violation)

    return run


def _on_clean_stack(validate):
    def run(args: StackValidationArgs, report_violation: ReportViolation):
        for resource in args.resources:
            resource.props = _clean(resource.props)
        return validate(args, report_violation)

    return run


# --- the kit's policy classes -----------------------------------------------------------------


class _KitRule:
    """What every kit rule adds to the SDK's policy: the resource types it reads and the rules
    of other scanners it corresponds to; internal ``__`` keys are dropped before it runs."""

    _clean: Callable[[Callable], Callable]

    def __init__(
        self,
        *,
        name: str,
        description: str,
        validate: Callable,
        enforcement_level: EnforcementLevel,
        severity: Severity,
        resource_types: Sequence[str],
        maps_to: Sequence[str] = (),
        config_schema: PolicyConfigSchema | None = None,
    ) -> None:
        super().__init__(
            name=name,
            description=description,
            validate=type(self)._clean(validate),
            enforcement_level=enforcement_level,
            config_schema=config_schema,
            severity=severity,
        )
        self.resource_types = tuple(resource_types)
        self.maps_to = tuple(maps_to)


class KitResourcePolicy(_KitRule, ResourceValidationPolicy):
    """A rule over one resource at a time."""

    _clean = staticmethod(_on_clean_resource)


class KitStackPolicy(_KitRule, StackValidationPolicy):
    """A rule over the whole stack, for what no single resource shows (a bucket and the
    resources around it, a mount target and its file system)."""

    _clean = staticmethod(_on_clean_stack)


KitPolicy = KitResourcePolicy | KitStackPolicy


def config_schema(**properties: dict[str, Any]) -> PolicyConfigSchema:
    """A policy's config schema; every property carries its default."""
    return PolicyConfigSchema(properties=properties)


def setting(
    args: ResourceValidationArgs | StackValidationArgs, schema: PolicyConfigSchema, key: str
):
    """The configured value of ``key``, or the schema's default when the engine sent none."""
    config = args.get_config() or {}
    if key in config:
        return config[key]
    return schema.properties[key]["default"]


# --- unknown values ---------------------------------------------------------------------------


class Undecided(UnknownValueError):
    """Values a rule needs are not known yet; ``items`` pairs each resource URN with why."""

    def __init__(self, items: Sequence[tuple[str, str]]) -> None:
        super().__init__(UNKNOWN_STRING_VALUE, [])
        self.items = list(items)
        self.message = "; ".join(f"{resource_name(urn)}: {why}" for urn, why in self.items)


class Pending:
    """What a stack rule could not judge yet, so that it still judges every other resource."""

    def __init__(self) -> None:
        self.items: list[tuple[str, str]] = []

    @contextmanager
    def judging(self, resource: PolicyResource) -> Iterator[None]:
        try:
            yield
        except UnknownValueError as err:
            self.items.extend(getattr(err, "items", None) or [(resource.urn, err.message)])

    def add(self, resource: PolicyResource, why: str) -> None:
        self.items.append((resource.urn, why))

    def settle(self) -> None:
        """Raise :class:`Undecided` for everything collected; the caller has reported the rest."""
        if self.items:
            raise Undecided(self.items)


# --- reading resources ------------------------------------------------------------------------


def resource_name(urn: str) -> str:
    return urn.rsplit("::", 1)[-1] if urn else "the stack"


def stack_of(urn: str) -> str:
    """The stack name inside a URN (``urn:pulumi:<stack>::<project>::<type>::<name>``)."""
    head = urn.split("::", 1)[0]
    return head.rsplit(":", 1)[-1] if head.startswith("urn:pulumi:") else ""


def known(props: Mapping[str, Any], key: str, fallback: str) -> str:
    """A string property for a message, or ``fallback`` when it is missing or not known yet."""
    try:
        value = props.get(key)
    except UnknownValueError:
        return fallback
    return value if isinstance(value, str) and value else fallback


def tags_of(props: Mapping[str, Any]) -> Mapping[str, Any]:
    tags = props.get("tags")
    return tags if isinstance(tags, Mapping) else {}


def environment_of(props: Mapping[str, Any], urn: str) -> str:
    """The resource's ``environment`` tag, else its stack's name (the kit's default), folded to
    lower case without surrounding space, so 'Prod ' is the protected 'prod'."""
    environment = tags_of(props).get("environment")
    if isinstance(environment, str) and environment.strip():
        return environment.strip().lower()
    return stack_of(urn).lower()


def strings(value: Any) -> list[str]:
    """A string or a list of strings as a list; anything else as an empty list."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, Sequence):
        return [item for item in value if isinstance(item, str)]
    return []


def ignores(ignore_changes: Sequence[str], prop: str) -> bool:
    """Whether ``ignore_changes`` names ``prop``, in its engine or its Python spelling."""

    def squash(name: str) -> str:
        return name.replace("_", "").lower()

    return any(squash(name) == squash(prop) for name in ignore_changes or ())


def region_of(resource: PolicyResource | ResourceValidationArgs) -> str | None:
    """The region of the provider that manages the resource, if it states one."""
    provider = resource.provider
    if provider is None:
        return None
    region = provider.props.get("region")
    return region if isinstance(region, str) and region else None


def parse_document(value: Any) -> Mapping[str, Any] | None:
    """A policy document given as JSON text or as an object; None when it isn't one."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            return None
    return value if isinstance(value, Mapping) else None


def ram_document(props: Mapping[str, Any]) -> Any:
    """A RAM policy's document; ``document`` is the deprecated name of ``policyDocument``."""
    document = props.get("policyDocument")
    return props.get("document") if document is None else document


def statements(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    found = document.get("Statement")
    if isinstance(found, Mapping):
        return [found]
    if isinstance(found, Sequence) and not isinstance(found, str):
        return [s for s in found if isinstance(s, Mapping)]
    return []


def _pattern_matches(pattern: str, value: str) -> bool:
    """RAM's wildcard match: ``*`` any run of characters, ``?`` one; case-insensitive."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, flags=re.IGNORECASE) is not None


def grants(statement: Mapping[str, Any], action: str) -> bool:
    """Whether an Allow statement covers ``action`` through Action or NotAction."""
    if statement.get("Effect") != "Allow":
        return False
    if "Action" in statement:
        return any(_pattern_matches(p, action) for p in strings(statement.get("Action")))
    if "NotAction" in statement:
        return not any(_pattern_matches(p, action) for p in strings(statement.get("NotAction")))
    return False


class BucketView:
    """One bucket of the stack by name: its Bucket resource, if the stack declares it, and the
    resources that name it in their ``bucket`` property."""

    def __init__(self, name: str, resource: PolicyResource | None) -> None:
        self.name = name
        self.resource = resource
        self.parts: dict[str, list[PolicyResource]] = {}

    def of(self, resource_type: str) -> list[PolicyResource]:
        return self.parts.get(resource_type, [])

    @property
    def subject(self) -> PolicyResource:
        """The resource a violation about the bucket as a whole is reported against."""
        if self.resource is not None:
            return self.resource
        return next(iter(self.parts.values()))[0]


def bucket_views(resources: Sequence[PolicyResource], pending: Pending) -> list[BucketView]:
    """Every bucket of the stack, with its parts; unknown names go to ``pending``."""
    views: dict[str, BucketView] = {}
    by_urn: dict[str, BucketView] = {}
    for resource in resources:
        if resource.resource_type != BUCKET:
            continue
        with pending.judging(resource):
            name = resource.props.get("bucket")
            key = name if isinstance(name, str) and name else resource.urn
            views[key] = by_urn[resource.urn] = BucketView(key, resource)
    for resource in resources:
        if resource.resource_type not in BUCKET_PARTS:
            continue
        with pending.judging(resource):
            view = _bucket_of(resource, views, by_urn)
            if view is not None:
                view.parts.setdefault(resource.resource_type, []).append(resource)
    return list(views.values())


def _bucket_of(
    part: PolicyResource, views: dict[str, BucketView], by_urn: dict[str, BucketView]
) -> BucketView | None:
    try:
        name = part.props.get("bucket")
    except UnknownValueError:
        # A bucket named by another resource's output: follow the dependency instead.
        linked = [by_urn[d.urn] for d in part.dependencies if d.urn in by_urn]
        if len(linked) == 1:
            return linked[0]
        raise
    if not isinstance(name, str) or not name:
        return None
    if name not in views:
        views[name] = BucketView(name, None)
    return views[name]
