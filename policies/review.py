"""The pack, evaluated offline against a planned stack the way the CLI's analyzer runs it.

:func:`evaluate` turns planned resources (anything shaped like ``paikit.plan.PlannedResource``)
into ``pulumi_policy`` arguments and calls every policy's own ``validate``:

- resource policies get ``ResourceValidationArgs`` with the resource's inputs, stack policies
  ``StackValidationArgs`` with every resource, linked to its parent and dependencies;
- properties sit behind ``pulumi_policy``'s unknown-checking proxy, as in the analyzer, and a
  policy that meets an unknown value is reported as "cannot decide yet", never as a pass;
- the default provider carries the stack's ``alicloud:region``, so region rules work offline;
- config is resolved as ``pulumi preview --policy-pack-config`` does: schema defaults first,
  then an ``all`` level, then per-policy levels and properties, validated against the schema.

The verdict renders as text for the terminal, Markdown for a pull request, and SARIF 2.1.0 for
code-scanning annotations.
"""

from __future__ import annotations

import asyncio
import copy
import difflib
import hashlib
import json
import re
import textwrap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from inspect import isawaitable
from pathlib import Path
from typing import Any, Protocol

from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.policy import _NotApplicableError
from pulumi_policy.proxy import UnknownValueError, unknown_checking_proxy

from policies.pack import AREAS, PACK_NAME, PACK_VERSION, POLICIES
from policies.rules.core import KitPolicy, _clean

ALL = "all"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVELS = {level.value: level for level in EnforcementLevel}
_SARIF_LEVEL = {"mandatory": "error", "advisory": "warning"}
_SECURITY_SEVERITY = {"low": "3.0", "medium": "5.5", "high": "8.0", "critical": "9.5"}


class Planned(Protocol):
    """What the review reads of a planned resource (``paikit.plan.PlannedResource``)."""

    urn: str
    type: str
    name: str
    parent: str
    inputs: dict[str, Any]
    protect: bool
    ignore_changes: list[str]
    aliases: list[str]
    dependencies: list[str]
    provider: str


class PackConfigError(ValueError):
    """Pack config that the CLI would refuse; ``problems`` holds one line per fault."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"invalid policy pack config ({len(problems)} problem(s)):\n{lines}")


# --- config, as the CLI reconciles it ---------------------------------------------------------


@dataclass(frozen=True)
class PolicySettings:
    """One policy's effective enforcement level and config properties."""

    level: EnforcementLevel
    properties: dict[str, Any]


def load_pack_config(path: Path) -> dict[str, Any]:
    """A ``--policy-pack-config`` file: JSON, policy name (or ``all``) to a level or object."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise PackConfigError([f"{path}: cannot be read ({err.strerror})"]) from None
    if not text.strip():
        return {}
    try:
        document = json.loads(text)
    except ValueError as err:
        raise PackConfigError([f"{path}: not valid JSON ({err})"]) from None
    except RecursionError:
        raise PackConfigError([f"{path}: nests too deeply to read"]) from None
    if not isinstance(document, dict):
        raise PackConfigError([f"{path}: must hold a JSON object of policy names"])
    return document


def resolve_config(
    given: Mapping[str, Any] | None, policies: Sequence[KitPolicy] = POLICIES
) -> dict[str, PolicySettings]:
    """Every policy's level and properties: schema defaults, then ``all``, then ``given``."""
    problems: list[str] = []
    names = [p.name for p in policies]
    settings = {}
    for policy in policies:
        schema = policy.config_schema.properties if policy.config_schema else {}
        defaults = {k: copy.deepcopy(v["default"]) for k, v in schema.items() if "default" in v}
        level = policy.enforcement_level or EnforcementLevel.ADVISORY
        settings[policy.name] = PolicySettings(level, defaults)

    given = dict(given or {})
    levels: dict[str, EnforcementLevel] = {}
    properties: dict[str, dict[str, Any]] = {}
    for key, value in given.items():
        if key != ALL and key not in settings:
            close = difflib.get_close_matches(key, names, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            problems.append(f"{key!r} is no policy of pack {PACK_NAME}{hint}")
            continue
        if isinstance(value, str):
            value = {"enforcementLevel": value}
        if not isinstance(value, Mapping):
            problems.append(f"{key!r}: must be an enforcement level or an object")
            continue
        value = dict(value)
        if "enforcementLevel" in value:
            given_level = value.pop("enforcementLevel")
            level = _LEVELS.get(given_level) if isinstance(given_level, str) else None
            if level is None:
                problems.append(f"{key!r}: enforcementLevel must be one of {', '.join(_LEVELS)}")
            else:
                levels[key] = level
        if value:
            if key == ALL:
                problems.append(f"{ALL!r}: takes only an enforcement level")
            else:
                properties[key] = value

    for name, current in settings.items():
        level = levels.get(name, levels.get(ALL, current.level))
        merged = {**current.properties, **properties.get(name, {})}
        settings[name] = PolicySettings(level, merged)
    for policy in policies:
        schema = policy.config_schema.properties if policy.config_schema else {}
        for key, value in settings[policy.name].properties.items():
            if key not in schema:
                problems.append(
                    f"{policy.name}.{key}: unknown; known: {', '.join(schema) or 'none'}"
                )
            else:
                problems += [
                    f"{policy.name}.{where}: {why}"
                    for where, why in schema_problems(value, schema[key], key)
                ]
    if problems:
        raise PackConfigError(problems)
    return settings


def schema_problems(value: Any, schema: Mapping[str, Any], where: str) -> list[tuple[str, str]]:
    """The JSON-schema keywords the pack's config uses: type, enum, items, additionalProperties."""
    expected = schema.get("type")
    checks: dict[str, Callable[[Any], bool]] = {
        "string": lambda v: isinstance(v, str),
        "boolean": lambda v: isinstance(v, bool),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
        "array": lambda v: isinstance(v, list),
        "object": lambda v: isinstance(v, dict),
    }
    if expected and not checks[expected](value):
        return [(where, f"must be of type {expected}, not {json.dumps(value)}")]
    if "enum" in schema and value not in schema["enum"]:
        return [(where, f"must be one of {', '.join(map(str, schema['enum']))}")]
    problems = []
    if expected == "array" and "items" in schema:
        for index, item in enumerate(value):
            problems += schema_problems(item, schema["items"], f"{where}[{index}]")
    if expected == "object" and isinstance(schema.get("additionalProperties"), Mapping):
        for key, item in value.items():
            problems += schema_problems(item, schema["additionalProperties"], f"{where}.{key}")
    return problems


# --- evaluation -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """One violation, or one judgement a policy could not make yet (``decided`` False)."""

    policy: str
    level: str
    message: str
    urn: str = ""
    resource_type: str = ""
    resource_name: str = ""
    decided: bool = True

    def to_json(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "level": self.level,
            "decided": self.decided,
            "urn": self.urn,
            "resourceType": self.resource_type,
            "resourceName": self.resource_name,
            "message": self.message,
        }


@dataclass
class Review:
    """The pack's verdict on one stack."""

    stack: str
    project: str
    findings: list[Finding]
    settings: dict[str, PolicySettings]
    not_applicable: list[tuple[str, str]] = field(default_factory=list)
    policies: tuple[KitPolicy, ...] = POLICIES

    @property
    def mandatory(self) -> list[Finding]:
        return [f for f in self.findings if f.decided and f.level == "mandatory"]

    @property
    def advisory(self) -> list[Finding]:
        return [f for f in self.findings if f.decided and f.level == "advisory"]

    @property
    def undecided(self) -> list[Finding]:
        return [f for f in self.findings if not f.decided]

    @property
    def blocked(self) -> bool:
        return bool(self.mandatory)

    @property
    def evaluated(self) -> list[KitPolicy]:
        return [
            p for p in self.policies if self.settings[p.name].level != EnforcementLevel.DISABLED
        ]

    def to_json(self) -> dict[str, Any]:
        return {
            "pack": {"name": PACK_NAME, "version": PACK_VERSION},
            "stack": self.stack,
            "verdict": "blocked" if self.blocked else "passed",
            "counts": {
                "mandatory": len(self.mandatory),
                "advisory": len(self.advisory),
                "undecided": len(self.undecided),
            },
            "findings": [f.to_json() for f in self.findings],
            "policies": [
                {
                    "name": p.name,
                    "area": AREAS.get(p.name, ""),
                    "enforcementLevel": self.settings[p.name].level.value,
                    "config": self.settings[p.name].properties,
                }
                for p in self.policies
            ],
            "notApplicable": [{"policy": p, "reason": r} for p, r in self.not_applicable],
        }


def evaluate(
    resources: Sequence[Planned],
    *,
    stack: str,
    project: str,
    region: str | None,
    config: Mapping[str, Any] | None = None,
    policies: Sequence[KitPolicy] = POLICIES,
) -> Review:
    """Run every enabled policy of the pack over the planned resources of one stack.

    Raises :class:`PackConfigError` when ``config`` is not what the CLI would accept.
    """
    settings = resolve_config(config, policies)
    providers = _Providers(resources, stack=stack, project=project, region=region)
    review = Review(stack, project, [], settings, policies=tuple(policies))
    prepared = _Prepared(resources, providers)
    for policy in policies:
        level = settings[policy.name].level
        if level == EnforcementLevel.DISABLED:
            continue
        if level == EnforcementLevel.REMEDIATE:
            level = EnforcementLevel.MANDATORY  # as the analyzer reports an unfixed violation
        run = _Run(review, policy, level, settings[policy.name].properties)
        if isinstance(policy, ResourceValidationPolicy):
            for resource in resources:
                run.resource(resource, prepared)
        elif isinstance(policy, StackValidationPolicy):
            run.stack(resources, prepared)
    return review


class _Providers:
    """The provider of each resource: an explicit one from the plan, else the default one."""

    def __init__(
        self, resources: Sequence[Planned], *, stack: str, project: str, region: str | None
    ) -> None:
        self.explicit = {r.urn: r for r in resources if r.type.startswith("pulumi:providers:")}
        self.default = PolicyProviderResource(
            "pulumi:providers:alicloud",
            unknown_checking_proxy({"region": region} if region else {}),
            f"urn:pulumi:{stack}::{project}::pulumi:providers:alicloud::default",
            "default",
        )

    def of(self, resource: Planned) -> PolicyProviderResource | None:
        urn = resource.provider.rsplit("::", 1)[0] if resource.provider else ""
        if urn in self.explicit:
            found = self.explicit[urn]
            props = unknown_checking_proxy(found.inputs)
            return PolicyProviderResource(found.type, props, found.urn, found.name)
        return self.default if resource.type.startswith("alicloud:") else None


def _options(resource: Planned) -> PolicyResourceOptions:
    return PolicyResourceOptions(
        protect=resource.protect,
        ignore_changes=list(resource.ignore_changes),
        delete_before_replace=None,
        aliases=list(resource.aliases),
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=[],
        parent=resource.parent or None,
    )


def _props(resource: Planned) -> Mapping[str, Any]:
    return _clean(resource.inputs)


class _Prepared:
    """Each resource's properties, options and provider, built once and shared by every policy,
    as the analyzer builds them once per resource; the stack's resources, built once for every
    stack policy."""

    def __init__(self, resources: Sequence[Planned], providers: _Providers) -> None:
        self.resources = resources
        self.providers = providers
        self._parts: dict[str, tuple] = {}
        self._stack: dict[str, PolicyResource] | None = None

    def parts(self, resource: Planned) -> tuple:
        found = self._parts.get(resource.urn)
        if found is None:
            found = (_props(resource), _options(resource), self.providers.of(resource))
            self._parts[resource.urn] = found
        return found

    def stack(self) -> dict[str, PolicyResource]:
        if self._stack is None:
            built = {}
            for r in self.resources:
                props, options, provider = self.parts(r)
                built[r.urn] = PolicyResource(
                    r.type, props, r.urn, r.name, options, provider, None, [], {}
                )
            for r in self.resources:
                built[r.urn].parent = built.get(r.parent)
                built[r.urn].dependencies = [built[d] for d in r.dependencies if d in built]
            self._stack = built
        return self._stack


class _Run:
    """One policy's pass over the stack, collecting what it reports."""

    def __init__(
        self, review: Review, policy: KitPolicy, level: EnforcementLevel, config: dict
    ) -> None:
        self.review = review
        self.policy = policy
        self.level = level.value
        self.config = copy.deepcopy(config)
        self.names: dict[str, Planned] = {}

    def _report(self, fallback_urn: str) -> Callable[[str, str | None], None]:
        def report_violation(message: str, urn: str | None = None) -> None:
            self._add(message, urn or fallback_urn, decided=True)

        return report_violation

    def _add(self, message: str, urn: str, *, decided: bool) -> None:
        resource = self.names.get(urn)
        self.review.findings.append(
            Finding(
                policy=self.policy.name,
                level=self.level,
                message=message,
                urn=urn,
                resource_type=resource.type if resource else "",
                resource_name=resource.name if resource else "",
                decided=decided,
            )
        )

    def _call(self, args, report, urn: str) -> None:
        try:
            result = self.policy.validate(args, report)
            if isawaitable(result):
                asyncio.run(result)
        except UnknownValueError as err:
            items = getattr(err, "items", None) or [(urn, err.message)]
            for item_urn, why in items:
                self._add(f"cannot decide yet: {why}", item_urn, decided=False)
        except _NotApplicableError as err:
            self.review.not_applicable.append((self.policy.name, err.reason or ""))

    def resource(self, resource: Planned, prepared: _Prepared) -> None:
        self.names = {resource.urn: resource}
        props, options, provider = prepared.parts(resource)
        args = ResourceValidationArgs(
            resource.type,
            props,
            resource.urn,
            resource.name,
            options,
            provider,
            self.config,
            {},
        )
        self._call(args, self._report(resource.urn), resource.urn)

    def stack(self, resources: Sequence[Planned], prepared: _Prepared) -> None:
        self.names = {r.urn: r for r in resources}
        args = StackValidationArgs(list(prepared.stack().values()), self.config, {})
        self._call(args, self._report(""), "")


# --- rendering --------------------------------------------------------------------------------


def _short_type(token: str) -> str:
    return token.split(":")[-1] if token else ""


def _where(finding: Finding) -> str:
    if not finding.urn:
        return "the stack"
    name = finding.resource_name or finding.urn.rsplit("::", 1)[-1]
    kind = _short_type(finding.resource_type)
    return f"{kind} {name}" if kind else name


def _ordered(review: Review) -> list[Finding]:
    rank = {"mandatory": 0, "advisory": 1}
    order = {p.name: i for i, p in enumerate(review.policies)}
    return sorted(
        review.findings,
        key=lambda f: (not f.decided, rank.get(f.level, 2), order.get(f.policy, 0), f.urn),
    )


def summary(review: Review) -> str:
    verdict = "BLOCKED" if review.blocked else "PASSED"
    return (
        f"{verdict}: {len(review.mandatory)} mandatory, {len(review.advisory)} advisory, "
        f"{len(review.undecided)} cannot decide yet"
    )


def render_text(review: Review) -> str:
    """The review for a terminal: one block per finding, mandatory first."""
    lines = [
        f"Policy review of stack {review.stack} (pack {PACK_NAME} {PACK_VERSION}, "
        f"{len(review.evaluated)} policies, offline)",
        f"  {summary(review)}",
    ]
    for finding in _ordered(review):
        label = finding.level if finding.decided else "undecided"
        lines += ["", f"  {label:<10} {finding.policy}", f"  {'':<10} {_where(finding)}"]
        lines += textwrap.wrap(
            finding.message,
            width=96,
            initial_indent=" " * 13,
            subsequent_indent=" " * 13,
            break_on_hyphens=False,
        )
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    """Text for a Markdown table cell: no line breaks, and no ``|`` or ``*`` that GitHub would
    read as a column break or as emphasis (origins such as ``https://*.example.com``)."""
    for char in ("\\", "|", "*"):
        text = text.replace(char, f"\\{char}")
    return text.replace("\n", " ")


def render_markdown(review: Review) -> str:
    """The review for a pull request comment or a CI job summary."""
    if review.blocked:
        verdict = (
            f"**Blocked**: {len(review.mandatory)} mandatory violation(s) to fix before merging"
        )
    else:
        verdict = "**Passed**: no mandatory violation"
    lines = [
        f"### Policy review of stack `{review.stack}`: {'blocked' if review.blocked else 'passed'}",
        "",
        f"{verdict}; {len(review.advisory)} advisory, {len(review.undecided)} cannot decide "
        f"yet. Pack `{PACK_NAME}` {PACK_VERSION}, {len(review.evaluated)} policies, evaluated "
        "offline on the planned resources.",
        "",
    ]
    if review.findings:
        lines += [
            "| Level | Rule | Resource | What is wrong, why it matters, how to fix it |",
            "|---|---|---|---|",
        ]
        for finding in _ordered(review):
            label = f"**{finding.level}**" if finding.level == "mandatory" else finding.level
            if not finding.decided:
                label = "cannot decide yet"
            lines.append(
                f"| {label} | `{finding.policy}` | {_cell(_where(finding))} "
                f"| {_cell(finding.message)} |"
            )
    else:
        lines.append("No policy reports anything.")
    lines += [
        "",
        f"<details><summary>{len(review.evaluated)} policies evaluated</summary>",
        "",
        "| Rule | Area | Level | Checks | Maps to |",
        "|---|---|---|---|---|",
    ]
    for policy in review.evaluated:
        maps_to = "; ".join(policy.maps_to) or "kit-specific"
        lines.append(
            f"| `{policy.name}` | {AREAS.get(policy.name, '')} "
            f"| {review.settings[policy.name].level.value} | {_cell(policy.description)} "
            f"| {_cell(maps_to)} |"
        )
    lines += ["", "</details>", ""]
    return "\n".join(lines)


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("-"))


_WORD = re.compile(r"[\w-]+")


class _Lines:
    """A stack file's lines, and the first line of each word in it (a run of letters, digits,
    '_' and '-'), so that finding a name costs a look-up, not a scan of the file."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.first: dict[str, int] = {}
        for number, line in enumerate(self.lines, start=1):
            for word in _WORD.findall(line):
                self.first.setdefault(word, number)

    def find(self, span: str) -> int | None:
        if _WORD.fullmatch(span):  # a whole word: the index knows its first line
            return self.first.get(span)
        pattern = re.compile(rf"(?<![\w-]){re.escape(span)}(?![\w-])")
        return next((n for n, line in enumerate(self.lines, 1) if pattern.search(line)), None)


def _line_of(text: str | _Lines, finding: Finding) -> int:
    """The first line of the stack file that names the resource, or part of its name."""
    lines = text if isinstance(text, _Lines) else _Lines(text)
    parts = (finding.resource_name or "").split("-")
    spans = sorted(
        {"-".join(parts[i:j]) for i in range(len(parts)) for j in range(i + 1, len(parts) + 1)},
        key=len,
        reverse=True,
    )
    name = finding.resource_name or ""
    for span in spans:
        # Short pieces match too much, except the name's own end: a user or volume name.
        if len(span) < 4 and not name.endswith(f"-{span}"):
            continue
        number = lines.find(span)
        if number is not None:
            return number
    return 1


def render_sarif(review: Review, *, artifact: str, artifact_text: str = "") -> dict[str, Any]:
    """The review as SARIF 2.1.0; each result points at ``artifact`` (the stack file)."""
    lines = _Lines(artifact_text)
    order = {p.name: i for i, p in enumerate(review.policies)}
    rules = []
    for policy in review.policies:
        level = review.settings[policy.name].level.value
        severity = policy.severity.value if policy.severity else "medium"
        rules.append(
            {
                "id": policy.name,
                "name": _camel(policy.name),
                "shortDescription": {"text": policy.description},
                "fullDescription": {"text": policy.description},
                "help": {
                    "text": f"{policy.description} Maps to: "
                    f"{'; '.join(policy.maps_to) or 'kit-specific'}."
                },
                "defaultConfiguration": {
                    "level": _SARIF_LEVEL.get(level, "none"),
                    "enabled": level != EnforcementLevel.DISABLED.value,
                },
                "properties": {
                    "tags": ["security", AREAS.get(policy.name, "").lower()],
                    "precision": "high",
                    "security-severity": _SECURITY_SEVERITY[severity],
                    "enforcementLevel": level,
                    "mapsTo": list(policy.maps_to),
                },
            }
        )
    results = []
    for finding in _ordered(review):
        fingerprint = hashlib.sha256(
            f"{finding.policy}\n{finding.urn}\n{finding.message}".encode()
        ).hexdigest()[:32]
        location: dict[str, Any] = {
            "physicalLocation": {
                "artifactLocation": {"uri": artifact},
                "region": {"startLine": _line_of(lines, finding)},
            }
        }
        if finding.urn:
            location["logicalLocations"] = [
                {
                    "name": finding.resource_name or finding.urn.rsplit("::", 1)[-1],
                    "fullyQualifiedName": finding.urn,
                    "kind": "resource",
                }
            ]
        results.append(
            {
                "ruleId": finding.policy,
                "ruleIndex": order[finding.policy],
                "kind": "fail" if finding.decided else "open",
                "level": _SARIF_LEVEL[finding.level] if finding.decided else "note",
                "message": {"text": f"{_where(finding)}: {finding.message}"},
                "locations": [location],
                "partialFingerprints": {"paiKitFinding/v1": fingerprint},
            }
        )
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": f"{PACK_NAME} policy pack",
                        "semanticVersion": PACK_VERSION,
                        "rules": rules,
                    }
                },
                "automationDetails": {"id": f"{PACK_NAME}/policy-review/{review.stack}/"},
                "invocations": [{"executionSuccessful": True}],
                "results": results,
            }
        ],
    }
