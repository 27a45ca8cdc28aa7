"""CORS rules for PAI consoles, and how OSS evaluates them.

Pure functions, no Pulumi imports: the bucket component, the policy pack and the tests share
them. Field names follow the provider's Python arguments (``allowed_origins`` ...); use
:func:`rule_from_engine` to read the engine's camelCase form.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

MAX_RULES = 10
# The bucket tag that names the PAI consumers a bucket serves, space-separated preset names.
CONSUMERS_TAG = "pai-consumers"
METHODS = ("GET", "PUT", "DELETE", "POST", "HEAD")
_ORIGIN = re.compile(r"(https?)://[^\s/]+")


@dataclass(frozen=True)
class CorsRule:
    """One OSS CORS rule, in the provider's vocabulary."""

    allowed_origins: tuple[str, ...]
    allowed_methods: tuple[str, ...]
    allowed_headers: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    max_age_seconds: int | None = None

    def to_args(self) -> dict:
        """Keyword arguments for ``oss.BucketCorsCorsRuleArgs``."""
        args = {
            "allowed_origins": list(self.allowed_origins),
            "allowed_methods": list(self.allowed_methods),
            "allowed_headers": list(self.allowed_headers),
            "expose_headers": list(self.expose_headers),
        }
        if self.max_age_seconds is not None:
            args["max_age_seconds"] = self.max_age_seconds
        return args


@dataclass(frozen=True)
class Consumer:
    """A PAI console feature that reads a bucket from the browser (REFERENCE 1.1, 1.2)."""

    preset: str
    title: str
    origins: tuple[str, ...]
    methods: tuple[str, ...]
    headers: tuple[str, ...]
    expose_headers: tuple[str, ...]
    needs_vary: bool
    # Headers a browser sends in a preflight for this consumer. For a consumer whose rule
    # allows every header, a representative set stands in for "any".
    probe_headers: tuple[str, ...] = field(default=())

    def rule(self, max_age_seconds: int | None = None) -> CorsRule:
        return CorsRule(
            allowed_origins=self.origins,
            allowed_methods=self.methods,
            allowed_headers=self.headers,
            expose_headers=self.expose_headers,
            max_age_seconds=max_age_seconds,
        )


_STUDIO_HEADERS = (
    "authorization",
    "content-md5",
    "content-type",
    "x-oss-date",
    "x-oss-security-token",
    "x-oss-user-agent",
    "range",
)

CONSUMERS: dict[str, Consumer] = {
    "itag": Consumer(
        preset="itag",
        title="PAI iTAG labeling",
        origins=("https://*.console.aliyun.com",),
        methods=("GET", "POST", "PUT"),
        headers=("*",),
        expose_headers=("etag", "x-oss-request-id"),
        needs_vary=True,
        probe_headers=(*_STUDIO_HEADERS, "x-oss-meta-label", "cache-control"),
    ),
    "studio-preview": Consumer(
        preset="studio-preview",
        title="PAI-Studio file preview",
        origins=("https://*.console.aliyun.com", "http://*.console.aliyun.com"),
        methods=("PUT", "GET", "POST", "HEAD"),
        headers=_STUDIO_HEADERS,
        expose_headers=("etag", "x-oss-request-id"),
        needs_vary=False,
        probe_headers=_STUDIO_HEADERS,
    ),
}
PRESETS = tuple(CONSUMERS)


def rule_from_engine(raw: object) -> CorsRule:
    """Build a rule from the engine's camelCase properties (``allowedOrigins`` ...).

    Anything that is not a string where strings belong is left out, so a malformed rule
    matches less, never crashes a check.
    """
    # Duck-typed: the policy SDK hands rules over as its own mapping and list proxies.
    if isinstance(raw, str | bytes) or not callable(getattr(raw, "get", None)):
        return CorsRule(allowed_origins=(), allowed_methods=())

    def strings(key: str) -> tuple[str, ...]:
        value = raw.get(key) or ()
        if isinstance(value, str):
            return (value,)
        if isinstance(value, Mapping) or not hasattr(value, "__iter__"):
            return ()
        return tuple(item for item in value if isinstance(item, str))

    max_age = raw.get("maxAgeSeconds")
    return CorsRule(
        allowed_origins=strings("allowedOrigins"),
        allowed_methods=strings("allowedMethods"),
        allowed_headers=strings("allowedHeaders"),
        expose_headers=strings("exposeHeaders"),
        max_age_seconds=max_age
        if isinstance(max_age, int) and not isinstance(max_age, bool)
        else None,
    )


# --- validation -------------------------------------------------------------------------------


def origin_problem(origin: str) -> str | None:
    """Why OSS would refuse this allowed origin, or None."""
    if not isinstance(origin, str) or not origin:
        return "an origin must be a non-empty string"
    if origin == "*":
        return None
    if origin.count("*") > 1:
        return "an origin may hold at most one '*'"
    if not _ORIGIN.fullmatch(origin):
        return "an origin needs its scheme (http:// or https://) and a host, with no path"
    return None


def header_problem(header: str, *, expose: bool) -> str | None:
    """Why OSS would refuse this allowed or expose header, or None."""
    if not isinstance(header, str) or not header or header != header.strip():
        return "a header must be a non-empty string without spaces around it"
    if expose and "*" in header:
        return "expose headers may not contain '*'"
    if header.count("*") > 1:
        return "an allowed header may hold at most one '*'"
    return None


def rule_problems(rule: CorsRule) -> list[str]:
    """Every reason OSS would refuse this rule."""
    problems = []
    if not rule.allowed_origins:
        problems.append("a rule needs at least one allowed origin")
    if not rule.allowed_methods:
        problems.append("a rule needs at least one allowed method")
    for origin in rule.allowed_origins:
        if why := origin_problem(origin):
            problems.append(f"origin {origin!r}: {why}")
    for method in rule.allowed_methods:
        if method not in METHODS:
            problems.append(f"method {method!r}: allowed methods are {', '.join(METHODS)}")
    for header in rule.allowed_headers:
        if why := header_problem(header, expose=False):
            problems.append(f"allowed header {header!r}: {why}")
    for header in rule.expose_headers:
        if why := header_problem(header, expose=True):
            problems.append(f"expose header {header!r}: {why}")
    max_age = rule.max_age_seconds
    if max_age is not None and (isinstance(max_age, bool) or not 0 <= max_age <= 2**31 - 1):
        problems.append(f"max age {max_age!r}: must be a whole number of seconds, 0 or more")
    return problems


# --- OSS matching -----------------------------------------------------------------------------


def _wildcard_match(pattern: str, value: str, *, case_sensitive: bool) -> bool:
    if not case_sensitive:
        pattern, value = pattern.lower(), value.lower()
    if "*" not in pattern:
        return pattern == value
    return _wildcard_regex(pattern).fullmatch(value) is not None


@functools.lru_cache(maxsize=1024)
def _wildcard_regex(pattern: str) -> re.Pattern[str]:
    # fnmatch also treats '?' and '[' as special; OSS knows only '*'.
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")), re.DOTALL)


def origin_allowed(rule: CorsRule, origin: str) -> bool:
    return any(_wildcard_match(p, origin, case_sensitive=True) for p in rule.allowed_origins)


def header_allowed(rule: CorsRule, header: str) -> bool:
    return any(_wildcard_match(p, header, case_sensitive=False) for p in rule.allowed_headers)


@dataclass(frozen=True)
class Request:
    """A browser request as OSS sees it: a preflight (OPTIONS) or the request itself."""

    origin: str
    method: str
    headers: tuple[str, ...] = ()
    preflight: bool = True


@dataclass(frozen=True)
class Response:
    """The CORS headers OSS returns; ``rule_index`` is the 0-based rule that answered."""

    rule_index: int
    allow_origin: str
    allow_methods: tuple[str, ...]
    allow_headers: tuple[str, ...]
    expose_headers: tuple[str, ...]
    max_age_seconds: int | None
    vary_origin: bool


def rule_matches(rule: CorsRule, request: Request) -> bool:
    if not origin_allowed(rule, request.origin):
        return False
    if request.method.upper() not in {m.upper() for m in rule.allowed_methods}:
        return False
    if request.preflight:
        return all(header_allowed(rule, h) for h in request.headers)
    return True


def evaluate(
    rules: Sequence[CorsRule], request: Request, *, response_vary: bool = False
) -> Response | None:
    """The CORS headers OSS answers with: the first matching rule wins; no match, no headers."""
    for index, rule in enumerate(rules):
        if rule_matches(rule, request):
            return Response(
                rule_index=index,
                allow_origin=request.origin,
                allow_methods=tuple(rule.allowed_methods),
                allow_headers=tuple(request.headers) if request.preflight else (),
                expose_headers=tuple(rule.expose_headers),
                max_age_seconds=rule.max_age_seconds,
                vary_origin=response_vary,
            )
    return None


# --- consumer coverage ------------------------------------------------------------------------


def sample_origins(consumer: Consumer) -> tuple[str, ...]:
    """Concrete console origins for a consumer's wildcard origins.

    Besides two real console hosts, an unremarkable made-up one stands for "any host", so a rule
    that names only some consoles, or a narrower pattern, leaves a gap.
    """
    samples = []
    for origin in consumer.origins:
        for host in ("pai", "pai-itag", "probe-7q"):
            samples.append(origin.replace("*", host, 1))
    return tuple(dict.fromkeys(samples))


@dataclass(frozen=True)
class Gap:
    """A consumer request that the final rule list does not answer correctly."""

    preset: str
    title: str
    origin: str
    method: str
    reason: str

    def __str__(self) -> str:
        return f"{self.title}: {self.method} from {self.origin}: {self.reason}"


def consumer_requests(consumer: Consumer) -> Iterable[Request]:
    """The preflight and the request itself, for every origin and method of a consumer.

    OSS matches the request itself on origin and method only, so a rule that a preflight
    skips (for its headers) can still answer the request, without the headers it must expose.
    """
    for origin in sample_origins(consumer):
        for method in consumer.methods:
            yield Request(origin, method, consumer.probe_headers, preflight=True)
            yield Request(origin, method, (), preflight=False)


def coverage_gaps(
    rules: Sequence[CorsRule], presets: Iterable[str], *, response_vary: bool
) -> list[Gap]:
    """Every request of every named consumer that the rules do not answer as it needs."""
    key = (tuple(rules), tuple(presets), response_vary)
    try:
        hash(key)
    except TypeError:  # rules built from lists are no cache key: work it out afresh
        return _coverage_gaps(*key)
    return list(_cached_coverage_gaps(*key))


# Every bucket of a stack usually has the same rules: check each rule set once.
@functools.lru_cache(maxsize=256)
def _cached_coverage_gaps(
    rules: tuple[CorsRule, ...], presets: tuple[str, ...], response_vary: bool
) -> tuple[Gap, ...]:
    return tuple(_coverage_gaps(rules, presets, response_vary))


def _coverage_gaps(
    rules: Sequence[CorsRule], presets: Iterable[str], response_vary: bool
) -> list[Gap]:
    gaps = []
    for preset in presets:
        consumer = CONSUMERS[preset]
        if consumer.needs_vary and not response_vary:
            gaps.append(
                Gap(preset, consumer.title, "*", "*", "the bucket does not return Vary: Origin")
            )
        for request in consumer_requests(consumer):
            response = evaluate(rules, request, response_vary=response_vary)
            reason = _response_problem(consumer, request, response)
            if reason:
                gaps.append(Gap(preset, consumer.title, request.origin, request.method, reason))
    return gaps


def _response_problem(consumer: Consumer, request: Request, response: Response | None) -> str:
    if response is None:
        if not request.preflight:
            return "no rule matches the request itself, so the browser hides the response"
        return (
            f"no rule matches a preflight with headers {', '.join(request.headers)}, "
            "so the browser blocks it"
        )
    exposed = {h.lower() for h in response.expose_headers}
    missing = [h for h in consumer.expose_headers if h.lower() not in exposed]
    if missing:
        what = "the preflight" if request.preflight else "the request itself"
        hidden = ", ".join(missing)
        return f"rule {response.rule_index + 1} answers {what} but does not expose {hidden}"
    return ""
