"""What PAI itself needs: consoles that can read buckets from the browser, data next to the
compute, and a service-linked-role permission that stays scoped to PAI (REFERENCE 1 and 2)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity, StackValidationArgs

from paikit import cors
from paikit.documents import EAS_SERVICE_NAME
from policies.rules.core import (
    BUCKET,
    BUCKET_CORS,
    MANDATORY,
    NAS_FILE_SYSTEM,
    PAI_TYPE_PREFIX,
    RAM_POLICY,
    BucketView,
    KitResourcePolicy,
    KitStackPolicy,
    Pending,
    bucket_views,
    config_schema,
    grants,
    known,
    parse_document,
    ram_document,
    region_of,
    resource_name,
    setting,
    statements,
    strings,
    tags_of,
)

CONSUMERS_TAG = cors.CONSUMERS_TAG
ITAG = "itag"
STUDIO_PREVIEW = "studio-preview"

# Concrete console origins, as the browser sends them, for every PAI consumer.
CONSOLE_ORIGINS = tuple(
    dict.fromkeys(o for c in cors.CONSUMERS.values() for o in cors.sample_origins(c))
)
_STUDIO_HEADERS = frozenset(h.lower() for h in cors.CONSUMERS[STUDIO_PREVIEW].headers)


# --- which consumers a bucket serves ----------------------------------------------------------


def cors_rules_of(props: Mapping[str, Any]) -> list[cors.CorsRule]:
    return [cors.rule_from_engine(rule) for rule in props.get("corsRules") or []]


def _names_console(origin: str) -> bool:
    """Whether an allowed origin names a PAI console; a bare ``*`` names every site, not PAI."""
    if origin == "*":
        return False
    probe = cors.CorsRule(allowed_origins=(origin,), allowed_methods=())
    return any(cors.origin_allowed(probe, sample) for sample in CONSOLE_ORIGINS)


def _console_origins(rule: cors.CorsRule) -> list[str]:
    return [origin for origin in rule.allowed_origins if _names_console(origin)]


def served_consumers(rules: Iterable[cors.CorsRule]) -> set[str]:
    """The PAI consumers a rule list is evidently written for.

    A rule for a console origin that allows every header is iTAG's; one that lists Studio's
    headers, allows HEAD or the console's ``http://`` origin is Studio preview's. A rule that
    shows neither declares nothing.
    """
    found = set()
    for rule in rules:
        console = _console_origins(rule)
        if not console:
            continue
        headers = {h.lower() for h in rule.allowed_headers}
        methods = {m.upper() for m in rule.allowed_methods}
        if "*" in headers:
            found.add(ITAG)
        if (
            headers & _STUDIO_HEADERS
            or "HEAD" in methods
            or any(o.startswith("http://") for o in console)
        ):
            found.add(STUDIO_PREVIEW)
    return found


def tagged_consumers(props: Mapping[str, Any]) -> tuple[set[str], list[str]]:
    """Consumers named by the bucket's ``pai-consumers`` tag, and names the pack doesn't know."""
    value = tags_of(props).get(CONSUMERS_TAG)
    if not isinstance(value, str):
        return set(), []
    names = [n for n in re.split(r"[\s,;+/:]+", value.lower()) if n]
    return {n for n in names if n in cors.CONSUMERS}, [n for n in names if n not in cors.CONSUMERS]


class CorsOwner:
    """The CORS configuration OSS will hold for a bucket, and who declares which consumers."""

    def __init__(self, view: BucketView, configured: Sequence[str]) -> None:
        self.view = view
        owners = view.of(BUCKET_CORS)
        self.resource = owners[0] if owners else view.resource
        if owners:
            self.rules = cors_rules_of(owners[0].props)
            self.response_vary = owners[0].props.get("responseVary") is True
        elif view.resource is not None:
            self.rules = cors_rules_of(view.resource.props)
            self.response_vary = False
        else:
            self.rules, self.response_vary = [], False
        self.served = served_consumers(self.rules)
        self.tagged, self.unknown_tagged = (
            tagged_consumers(view.resource.props) if view.resource is not None else (set(), [])
        )
        self.configured = {c for c in configured if c in cors.CONSUMERS}

    @property
    def subject(self):
        """The resource that holds the bucket's CORS rules, else the bucket's own resource."""
        return self.resource if self.resource is not None else self.view.subject

    @property
    def declared(self) -> list[str]:
        # A bucket's pai-consumers tag is its own word on what it serves; the reading of its
        # rules only stands in where no tag says it.
        guessed = set() if self.tagged or self.unknown_tagged else self.served
        return sorted(guessed | self.tagged | self.configured)

    def why_declared(self, consumer: str) -> str:
        reasons = []
        if consumer in self.served:
            reasons.append("its CORS rules are written for it")
        if consumer in self.tagged:
            reasons.append(f"its {CONSUMERS_TAG} tag names it")
        if consumer in self.configured:
            reasons.append("the pack config names it")
        return " and ".join(reasons)


# --- pai-cors-consumer-coverage ---------------------------------------------------------------

COVERAGE_SCHEMA = config_schema(
    bucketConsumers={
        "type": "object",
        "additionalProperties": {
            "type": "array",
            "items": {"type": "string", "enum": list(cors.PRESETS)},
        },
        "default": {},
        "description": "Bucket name to the PAI consumers it serves, beyond what its CORS "
        f"rules and its {CONSUMERS_TAG} tag declare.",
    },
)


def _validate_coverage(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    configured = setting(args, COVERAGE_SCHEMA, "bucketConsumers")
    pending = Pending()
    for view in bucket_views(args.resources, pending):
        with pending.judging(view.subject):
            owner = CorsOwner(view, strings(configured.get(view.name)))
            if owner.unknown_tagged:
                report_violation(
                    f"Bucket {view.name}: its {CONSUMERS_TAG} tag names "
                    f"{', '.join(owner.unknown_tagged)}, which no PAI consumer is called, so "
                    "the pack cannot check the CORS rules that consumer needs. Fix: use "
                    f"{' or '.join(cors.PRESETS)}, separated by spaces.",
                    view.subject.urn,
                )
            # Vary: Origin is judged by pai-itag-vary-origin; here only the preflights.
            gaps = cors.coverage_gaps(owner.rules, owner.declared, response_vary=True)
            for consumer in owner.declared:
                mine = [g for g in gaps if g.preset == consumer]
                if mine:
                    report_violation(
                        _coverage_message(view, owner, consumer, mine), owner.subject.urn
                    )
    pending.settle()


def _coverage_message(view: BucketView, owner: CorsOwner, consumer: str, gaps) -> str:
    title = cors.CONSUMERS[consumer].title
    methods = sorted({g.method for g in gaps})
    grouped: dict[tuple[str, str], list[str]] = {}
    for gap in gaps:
        grouped.setdefault((gap.method, gap.reason), []).append(gap.origin)
    shown = "; ".join(
        f"{method} from {', '.join(origins)}: {reason}"
        for (method, reason), origins in list(grouped.items())[:3]
    )
    more = f" (and {len(grouped) - 3} more)" if len(grouped) > 3 else ""
    source = "its CORS rules" if owner.rules else "no CORS rule at all"
    return (
        f"Bucket {view.name} serves {title} ({owner.why_declared(consumer)}), but OSS, trying "
        f"{source} in order with the first match winning, does not answer its "
        f"{', '.join(methods)} preflights: {shown}{more}. The browser then blocks the console's "
        f"requests and {title} fails to load the bucket's files. Fix: give the bucket's "
        f"BucketCors the '{consumer}' preset rule (REFERENCE 1.1-1.3) before any rule that "
        "would answer the same origin first."
    )


COVERAGE = KitStackPolicy(
    name="pai-cors-consumer-coverage",
    description="Every bucket that serves a PAI console answers that console's CORS "
    "preflights under OSS first-match rules.",
    validate=_validate_coverage,
    enforcement_level=MANDATORY,
    severity=Severity.HIGH,
    resource_types=(BUCKET, BUCKET_CORS),
    config_schema=COVERAGE_SCHEMA,
)


# --- pai-itag-vary-origin ---------------------------------------------------------------------

VARY_SCHEMA = config_schema(
    itagBuckets={
        "type": "array",
        "items": {"type": "string"},
        "default": [],
        "description": "Buckets that serve iTAG, beyond those whose CORS rules or "
        f"{CONSUMERS_TAG} tag say so.",
    },
)


def _validate_vary(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    configured = set(strings(setting(args, VARY_SCHEMA, "itagBuckets")))
    pending = Pending()
    for view in bucket_views(args.resources, pending):
        with pending.judging(view.subject):
            owner = CorsOwner(view, [ITAG] if view.name in configured else [])
            if ITAG not in owner.declared or owner.response_vary:
                continue
            where = (
                "its BucketCors sets responseVary to false"
                if view.of(BUCKET_CORS)
                else "only a BucketCors can return it, and the bucket has none"
            )
            report_violation(
                f"Bucket {view.name} serves PAI iTAG labeling ({owner.why_declared(ITAG)}), "
                f"but does not return Vary: Origin: {where}. iTAG needs it; without it browser "
                "and CDN caches hand one origin's CORS answer to another and labeling shows "
                "'resource failed to load'. Fix: set response_vary=True on the bucket's "
                "BucketCors.",
                owner.subject.urn,
            )
    pending.settle()


VARY = KitStackPolicy(
    name="pai-itag-vary-origin",
    description="Every bucket that serves PAI iTAG returns Vary: Origin.",
    validate=_validate_vary,
    enforcement_level=MANDATORY,
    severity=Severity.HIGH,
    resource_types=(BUCKET, BUCKET_CORS),
    config_schema=VARY_SCHEMA,
)


# --- oss-cors-origin-allowlist ----------------------------------------------------------------

ORIGINS_SCHEMA = config_schema(
    allowedOrigins={
        "type": "array",
        "items": {"type": "string"},
        "default": ["https://*.console.aliyun.com", "http://*.console.aliyun.com"],
        "description": "Origins (at most one '*' each) that CORS rules may allow; a rule's "
        "origin must lie within one of them.",
    },
)


def origin_within(origin: str, allowed: str) -> bool:
    """Whether every origin that ``origin`` matches is also matched by ``allowed``.

    OSS origins hold at most one ``*``: ``p1*p2`` lies within ``a1*a2`` when ``p1`` starts with
    ``a1`` and ``p2`` ends with ``a2``; a literal origin lies within a pattern that matches it.
    """
    if "*" not in allowed:
        return origin == allowed
    if "*" not in origin:
        probe = cors.CorsRule(allowed_origins=(allowed,), allowed_methods=())
        return cors.origin_allowed(probe, origin)
    head, _, tail = origin.partition("*")
    allowed_head, _, allowed_tail = allowed.partition("*")
    return head.startswith(allowed_head) and tail.endswith(allowed_tail)


def _validate_origins(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type not in (BUCKET_CORS, BUCKET):
        return
    allowed = strings(setting(args, ORIGINS_SCHEMA, "allowedOrigins"))
    bucket = known(args.props, "bucket", args.name)
    for index, rule in enumerate(cors_rules_of(args.props), start=1):
        for origin in rule.allowed_origins:
            if origin == "*":
                report_violation(
                    f"CORS rule {index} of bucket {bucket} allows every "
                    "origin ('*'). Any web site can then read the bucket from its visitors' "
                    "browsers with their credentials. Fix: list only the origins that need "
                    f"the bucket, such as {', '.join(allowed) or 'the PAI consoles'}."
                )
            elif not any(origin_within(origin, a) for a in allowed):
                report_violation(
                    f"CORS rule {index} of bucket {bucket} allows origin "
                    f"{origin}, which is outside the allowed origins "
                    f"({', '.join(allowed) or 'none'}). A site outside that list can read the "
                    "bucket from the browser. Fix: remove the origin, or add it to this "
                    "policy's allowedOrigins once it is approved."
                )


ORIGINS = KitResourcePolicy(
    name="oss-cors-origin-allowlist",
    description="Bucket CORS rules allow only approved origins and never every origin.",
    validate=_validate_origins,
    enforcement_level=MANDATORY,
    severity=Severity.HIGH,
    resource_types=(BUCKET_CORS, BUCKET),
    config_schema=ORIGINS_SCHEMA,
)


# --- pai-data-same-region ---------------------------------------------------------------------

REGION_SCHEMA = config_schema(
    paiRegion={
        "type": "string",
        "default": "",
        "description": "Region where PAI compute (DSW, EAS, training) runs; empty: the "
        "regions of the stack's PAI resources.",
    },
)


def _validate_region(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    pending = Pending()
    configured = setting(args, REGION_SCHEMA, "paiRegion")
    pai_regions: set[str] = set()
    if isinstance(configured, str) and configured:
        pai_regions.add(configured)
        source = "the pack config's paiRegion"
    else:
        source = "the stack's PAI resources"
        for resource in args.resources:
            if resource.resource_type.startswith(PAI_TYPE_PREFIX):
                with pending.judging(resource):
                    region = region_of(resource)
                    if region:
                        pai_regions.add(region)
    if not pai_regions:
        pending.settle()
        args.not_applicable("no PAI region: the stack has no PAI resource and paiRegion is unset")
    where = ", ".join(sorted(pai_regions))
    for resource in args.resources:
        if resource.resource_type not in (BUCKET, NAS_FILE_SYSTEM):
            continue
        with pending.judging(resource):
            region = region_of(resource)
            if region is None:
                pending.add(resource, "its provider names no region")
                continue
            if region in pai_regions:
                continue
            name = resource_name(resource.urn)
            if resource.resource_type == BUCKET:
                kind, name = "Bucket", known(resource.props, "bucket", name)
            else:
                kind = "NAS file system"
            impact = (
                "PAI reads it across regions: internal traffic is free, cross-region traffic "
                "is billed and slower"
                if resource.resource_type == BUCKET
                else "DSW mounts NAS only inside its own region's VPC, so PAI cannot use it"
            )
            report_violation(
                f"{kind} {name} is in {region}, but PAI compute runs in "
                f"{where} ({source}). {impact}. Fix: create it with a provider for {where}, or "
                "correct paiRegion.",
                resource.urn,
            )
    pending.settle()


REGION = KitStackPolicy(
    name="pai-data-same-region",
    description="Buckets and NAS file systems live in the region where PAI compute runs.",
    validate=_validate_region,
    enforcement_level=MANDATORY,
    severity=Severity.MEDIUM,
    resource_types=(BUCKET, NAS_FILE_SYSTEM),
    config_schema=REGION_SCHEMA,
)


# --- ram-service-linked-role-scoped -----------------------------------------------------------

SLR_ACTIONS = ("ram:CreateServiceLinkedRole", "ram:DeleteServiceLinkedRole")
SERVICE_NAME_KEY = "ram:servicename"

SLR_SCHEMA = config_schema(
    allowedServiceNames={
        "type": "array",
        "items": {"type": "string"},
        "default": [EAS_SERVICE_NAME],
        "description": "Services whose service-linked roles RAM policies may let principals "
        "create or delete.",
    },
)


def _scope_problem(statement: Mapping[str, Any], allowed: Sequence[str]) -> str | None:
    """Why a statement that grants a service-linked-role action is not scoped, or None."""
    condition = statement.get("Condition")
    clause = condition.get("StringEquals") if isinstance(condition, Mapping) else None
    names: list[str] = []
    if isinstance(clause, Mapping):
        for key in clause:
            if str(key).lower() == SERVICE_NAME_KEY:
                names.extend(strings(clause[key]))
    if not names:
        return (
            "for every service: it has no StringEquals condition on ram:ServiceName. Whoever "
            "holds it can create or delete the service-linked role of any cloud service, and "
            "so hand that service access to the account"
        )
    outside = [n for n in names if n not in allowed]
    if outside:
        return (
            f"for {', '.join(outside)}, outside the allowed services "
            f"({', '.join(allowed) or 'none'}). Whoever holds it can hand that service access "
            "to the account"
        )
    return None


def _validate_slr(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type != RAM_POLICY:
        return
    document = parse_document(ram_document(args.props))
    if document is None:
        return  # ram-policy-document-valid reports it
    allowed = strings(setting(args, SLR_SCHEMA, "allowedServiceNames"))
    name = known(args.props, "policyName", args.name)
    scope = {"StringEquals": {"ram:ServiceName": allowed[0] if allowed else EAS_SERVICE_NAME}}
    for index, statement in enumerate(statements(document), start=1):
        actions = [a for a in SLR_ACTIONS if grants(statement, a)]
        problem = _scope_problem(statement, allowed) if actions else None
        if problem:
            report_violation(
                f"Statement {index} of RAM policy {name} allows {' and '.join(actions)} "
                f'{problem}. Fix: give the statement "Condition": {json.dumps(scope)} '
                "(REFERENCE 2)."
            )


SERVICE_LINKED_ROLE = KitResourcePolicy(
    name="ram-service-linked-role-scoped",
    description="RAM policies allow creating or deleting service-linked roles only for "
    "allowlisted services, such as PAI-EAS.",
    validate=_validate_slr,
    enforcement_level=MANDATORY,
    severity=Severity.CRITICAL,
    resource_types=(RAM_POLICY,),
    config_schema=SLR_SCHEMA,
)

POLICIES = (COVERAGE, VARY, ORIGINS, REGION, SERVICE_LINKED_ROLE)
