"""Hostile input: generated invalid and surprising configs and stack files end in a clean error.

Each generated case is a valid stack configuration with one fault planted (wrong types, empty
strings, unicode, huge values, overlapping CIDRs, names at and past every length limit, unknown
keys, duplicated names, secrets where they cannot be kept) and the keys the error must name. The
kit must answer with its own ConfigError naming one of those keys: no other exception, and,
through the whole program, no resource registered.
"""

import ipaddress
import json
import subprocess
import sys
from dataclasses import dataclass, field

import pulumi
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from paikit import config, cors
from paikit.config import ConfigError
from paikit.plan import ROOT, StackFileError, run_program, stack_config
from tests.conftest import RecordingMocks

COUNTS = {"generated": 0, "clean": 0, "through the program": 0}
LOAD_EXAMPLES = 600
PROGRAM_EXAMPLES = 60
HOSTILE = {
    "deadline": None,
    "derandomize": True,
    "database": None,
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
}


@dataclass
class Case:
    """A stack configuration with one planted fault, and the keys the error may name."""

    stack: str
    keys: dict
    expected: tuple[str, ...]
    region: str = "cn-hangzhou"
    secret_keys: frozenset[str] = frozenset()
    extra: dict = field(default_factory=dict)

    def raw(self) -> dict[str, str]:
        values = {config.REGION_KEY: self.region, **self.extra}
        for key, value in self.keys.items():
            text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
            values[f"{config.PROJECT}:{key}"] = text
        return values


# --- building blocks ----------------------------------------------------------------------------

LOWER = "abcdefghijklmnopqrstuvwxyz"
DIGITS = "0123456789"
FOREIGN = ["é", "数据", "\U0001f642", "\u200b", "\u202e", "\x00", "\n", "\t", " ", "Ä", "ß"]
NOT_JSON_BOOL = st.one_of(
    st.integers(-5, 5),
    st.floats(allow_nan=False),
    st.lists(st.booleans(), max_size=2),
    st.sampled_from(["yes", "no", "True", "FALSE", "on", "1", "", "null", "tru"]),
)


def planted(valid, bad_chars):
    """A valid string with one character it may never hold put somewhere in it."""
    return st.tuples(valid, st.sampled_from(bad_chars), st.integers(0, 80)).map(
        lambda t: t[0][: t[2]] + t[1] + t[0][t[2] :]
    )


def too_long(alphabet, limit):
    """A string of allowed characters that is longer than ``limit``."""
    return st.integers(limit + 1, limit + 400).map(lambda n: (alphabet * n)[:n])


def wrong_types():
    return st.one_of(
        st.integers(-(2**70), 2**70),
        st.floats(allow_nan=False, allow_infinity=False),
        st.booleans(),
        st.none(),
        st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
    )


def _parses_as(text, kind):
    try:
        return isinstance(json.loads(text), kind)
    except ValueError:
        return False


ENVIRONMENT = st.from_regex(r"\A[a-z][a-z0-9-]{0,30}\Z")
LOGICAL = st.from_regex(r"\A[a-z][a-z0-9-]{0,30}[a-z0-9]\Z")
BUCKET_NAME = st.from_regex(r"\A[a-z0-9][a-z0-9-]{1,61}[a-z0-9]\Z")
PRINCIPAL = st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9._@-]{0,40}\Z")
PRIVATE_BLOCKS = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")


# --- faults, key by key -------------------------------------------------------------------------


@st.composite
def scalar_faults(draw):
    """One top-level string key with a value its pattern refuses."""
    key, value = draw(
        st.one_of(
            st.tuples(
                st.just("environment"),
                st.one_of(planted(ENVIRONMENT, [*FOREIGN, "A", "_", "."]), too_long(LOWER, 31)),
            ),
            st.tuples(
                st.just("project"),
                st.one_of(
                    planted(LOGICAL, [*FOREIGN, "Z", "_"]),
                    too_long(LOWER, 32),
                    st.sampled_from(["a", "", "-ab", "ab-", "1ab"]),
                ),
            ),
            st.tuples(
                st.just("costOwner"),
                st.one_of(
                    planted(PRINCIPAL, ["\x00", "\n", "\x7f"]),
                    too_long("x", 128),
                    st.sampled_from(["", "aliyun-team", "acs:owner"]),
                ),
            ),
            st.tuples(
                st.just("easPolicyName"),
                st.one_of(planted(LOGICAL, [*FOREIGN, "_", "."]), too_long("P", 128)),
            ),
            st.tuples(
                st.just("paiWorkspaceId"),
                st.one_of(
                    planted(st.from_regex(r"\A\d{1,19}\Z"), ["a", "-", *FOREIGN]),
                    too_long(DIGITS, 20),
                ),
            ),
            st.tuples(
                st.just("kmsKeyId"),
                st.one_of(planted(LOGICAL, ["_", "/", *FOREIGN]), too_long("k", 128)),
            ),
            st.tuples(
                st.just("encryption"),
                st.text(max_size=12).filter(lambda s: s not in config.SSE_ALGORITHMS),
            ),
            st.tuples(
                st.just("networkZoneId"),
                planted(st.sampled_from(["cn-hangzhou-k", "cn-beijing-h"]), ["A", "_", *FOREIGN]),
            ),
        )
    )
    return Case(draw(st.sampled_from(["dev", "prod"])), {key: value}, (key,))


@st.composite
def region_faults(draw):
    region = draw(
        st.one_of(
            st.text(max_size=20),
            st.sampled_from(["CN-HANGZHOU", "cn-hangzhou ", "cn_hangzhou", "mars-1", "cn"]),
        ).filter(lambda s: s not in config.REGIONS)
    )
    return Case("dev", {}, (config.REGION_KEY,), region=region)


@st.composite
def type_faults(draw):
    """Structured and boolean keys given the wrong kind of value."""
    key = draw(
        st.sampled_from(
            ["protectedEnvironments", "tags", "easPolicyUsers", "easPolicyGroups", "buckets",
             "nasVolumes", "easPolicyAllowDelete", "easCreateServiceLinkedRole"]
        )
    )  # fmt: skip
    if key.startswith("eas") and not key.endswith(("Users", "Groups")):
        value = draw(NOT_JSON_BOOL)
        if isinstance(value, str) and _parses_as(value, bool):
            value = "maybe"
    elif key in ("buckets", "nasVolumes"):
        value = draw(
            st.one_of(
                wrong_types().filter(lambda v: v is not None),
                st.just([]),
                st.lists(st.one_of(st.integers(), st.text(max_size=5)), min_size=1, max_size=3),
                st.text(max_size=10).filter(lambda s: not _parses_as(s, (list, type(None)))),
            )
        )
    else:
        value = draw(
            st.one_of(
                wrong_types().filter(lambda v: v is not None),
                st.lists(wrong_types(), min_size=1, max_size=3),
                st.text(max_size=10).filter(lambda s: not _parses_as(s, list)),
            )
        )
    return Case(draw(st.sampled_from(["dev", "prod"])), {key: value}, (key,))


@st.composite
def list_item_faults(draw):
    """Lists of names and tags with an entry the kit refuses, or one entry twice."""
    key = draw(
        st.sampled_from(["easPolicyUsers", "easPolicyGroups", "protectedEnvironments", "tags"])
    )
    good = draw(
        st.lists(PRINCIPAL if key.startswith("eas") else ENVIRONMENT, max_size=3, unique=True)
    )
    if key == "tags":
        good = [f"k{i}=v" for i in range(len(good))]
        bad = draw(
            st.one_of(
                st.text(max_size=20).filter(lambda s: "=" not in s),
                too_long("t", 128).map(lambda k: f"{k}=v"),
                too_long("v", 128).map(lambda v: f"team={v}"),
                st.sampled_from(["aliyun-x=1", "acs:x=1", "ALIYUN=1", "=v", "environment=x",
                                 "project=y", "cost-owner=z", "team=a\nb", " x=1"]),
            )
        )  # fmt: skip
    elif key == "protectedEnvironments":
        bad = draw(st.one_of(planted(ENVIRONMENT, ["A", "_", *FOREIGN]), too_long(LOWER, 31)))
    else:
        bad = draw(st.one_of(planted(PRINCIPAL, [" ", "/", "!", *FOREIGN]), too_long("u", 128)))
    items = [*good, bad]
    if draw(st.booleans()) and good:
        items = [*good, good[0]]  # the same entry twice
    position = draw(st.permutations(items))
    return Case(draw(st.sampled_from(["dev", "prod"])), {key: position}, (key,))


@st.composite
def too_many_tags(draw):
    count = draw(st.integers(config.MAX_BUCKET_TAGS - len(config.KIT_TAGS), 60))
    return Case("dev", {"tags": [f"t{i}=v" for i in range(count)]}, ("tags",))


_SITE = "https://a.example.com"
_BAD_RULES = [
    {"allowedOrigins": [_SITE], "allowedMethods": ["GET"], "exposeHeaders": ["*"]},
    {"allowedOrigins": ["a.example.com"], "allowedMethods": ["GET"]},
    {"allowedOrigins": ["https://*.*.example.com"], "allowedMethods": ["GET"]},
    {"allowedOrigins": [_SITE], "allowedMethods": ["PATCH"]},
    {"allowedOrigins": [_SITE], "allowedMethods": []},
    {"allowedOrigins": [], "allowedMethods": ["GET"]},
    {"allowedOrigins": [_SITE], "allowedMethods": ["GET"], "allowedHeaders": ["**"]},
    {"allowedOrigins": [_SITE], "allowedMethods": ["GET"], "allowedHeaders": [" x"]},
    {"allowedOrigins": [_SITE], "allowedMethods": ["GET"], "maxAgeSeconds": -1},
    {"allowedOrigins": _SITE, "allowedMethods": ["GET"]},
    {"allowedOrigins": [_SITE], "allowedMethods": ["GET"], "origin": "x"},
]


_BOOL_FAULTS = NOT_JSON_BOOL.filter(lambda v: not (isinstance(v, str) and v in ("true", "false")))
_CHOICE_FAULTS = st.one_of(st.text(max_size=10), wrong_types())
_UNKNOWN_PRESETS = st.lists(
    st.text(max_size=12).filter(lambda s: s not in cors.PRESETS), min_size=1, max_size=3
)
_PRESET_FAULTS = st.one_of(
    _UNKNOWN_PRESETS,
    st.tuples(st.permutations(cors.PRESETS), _UNKNOWN_PRESETS).map(lambda t: [*t[0], *t[1]]),
    st.just("itag"),
    st.just(["itag", "itag"]),
)
# Values each bucket field refuses; None stands for a field the kit does not know.
BUCKET_FIELD_FAULTS = {
    "name": st.one_of(
        st.integers(0, 2).map(lambda n: "a" * n),
        too_long("b", 63),
        planted(BUCKET_NAME, ["A", "_", ".", *FOREIGN]),
        BUCKET_NAME.map(lambda s: f"-{s}"),
        BUCKET_NAME.map(lambda s: f"{s}-"),
        wrong_types(),
    ),
    "corsMaxAgeSeconds": st.one_of(
        st.integers(max_value=-1),
        st.integers(min_value=2**31),
        st.floats(allow_nan=False).filter(lambda f: not f.is_integer()),
        st.sampled_from(["soon", "1e3", "", True]),
    ),
    "paiConsumers": _PRESET_FAULTS,
    "corsPresets": _PRESET_FAULTS,
    "versioning": _BOOL_FAULTS,
    "forceDestroy": _BOOL_FAULTS,
    "responseVary": _BOOL_FAULTS,
    "customCorsRulesFirst": _BOOL_FAULTS,
    "encryption": _CHOICE_FAULTS.filter(lambda v: v not in config.SSE_ALGORITHMS),
    "redundancyType": _CHOICE_FAULTS.filter(lambda v: v not in config.REDUNDANCY_TYPES),
    "storageClass": _CHOICE_FAULTS.filter(lambda v: v not in config.STORAGE_CLASSES),
    "kmsKeyId": st.one_of(st.just("key-abc123"), planted(LOGICAL, ["_", "/", *FOREIGN])),
    "customCorsRules": st.one_of(
        st.just({"allowedOrigins": ["*"]}),
        st.sampled_from(_BAD_RULES).map(lambda r: [r]),
        st.integers(11, 30).map(
            lambda n: [
                {"allowedOrigins": [f"https://a{i}.example.com"], "allowedMethods": ["GET"]}
                for i in range(n)
            ]
        ),
        st.lists(st.one_of(st.integers(), st.text(max_size=4)), min_size=1, max_size=2),
    ),
    None: wrong_types(),
}


def _field_fault(draw, faults, known):
    field_name = draw(st.sampled_from(list(faults)))
    value = draw(faults[field_name])
    if field_name is None:
        field_name = draw(st.text(min_size=1, max_size=15).filter(lambda s: s not in known))
    return field_name, value


@st.composite
def bucket_faults(draw):
    stack = draw(st.sampled_from(["dev", "prod"]))
    names = draw(st.lists(BUCKET_NAME, min_size=1, max_size=3, unique=True))
    buckets = [{"name": n} for n in names]
    index = draw(st.integers(0, len(buckets) - 1))
    kind = draw(st.sampled_from(["field", "field", "field", "duplicate", "protected", "vary"]))
    if kind == "duplicate":
        buckets.append({"name": names[index]})
        expected = (f"buckets[{len(buckets) - 1}].name",)
    elif kind == "protected":
        stack = "prod"
        field_name, value = draw(
            st.sampled_from(
                [
                    ("forceDestroy", True),
                    ("versioning", False),
                    ("forceDestroy", "true"),
                    ("versioning", "false"),
                ]
            )
        )
        buckets[index][field_name] = value
        expected = (f"buckets[{index}].{field_name}",)
    elif kind == "vary":
        buckets[index]["responseVary"] = False
        expected = (f"buckets[{index}].responseVary",)
    else:
        field_name, value = _field_fault(draw, BUCKET_FIELD_FAULTS, config.BUCKET_FIELDS)
        buckets[index][field_name] = value
        expected = (f"buckets[{index}].{field_name}",)
        if field_name == "name" and value in names:
            expected = ("buckets",)
    if draw(st.booleans()) and len(buckets) > 1:
        for bucket in buckets[:2]:
            bucket["default"] = True
        expected = (*expected, "buckets")
    return Case(stack, {"buckets": buckets}, expected)


NAS_FIELD_FAULTS = {
    "name": st.one_of(
        st.sampled_from(["a", "", "1ab", "-ab", "ab-"]),
        too_long(LOWER, 32),
        planted(LOGICAL, ["A", "_", ".", *FOREIGN]),
        wrong_types(),
    ),
    "mountPath": st.one_of(
        st.sampled_from(
            ["/data/", "/mnt/data", "mnt/data/", "/mnt/", "/mnt/../etc/", "/mnt/a/../../b/",
             "/mnt/a b/", "/mnt//", "/MNT/a/"]
        ),
        too_long("d", 200).map(lambda p: f"/mnt/{p}/"),
        planted(st.just("/mnt/data/"), [*FOREIGN, "*", "$"]).filter(
            lambda p: p.startswith("/mnt/")
        ),
    ),
    "storageType": _CHOICE_FAULTS.filter(lambda v: v not in config.NAS_STORAGE_TYPES),
    "mountAccess": _CHOICE_FAULTS.filter(lambda v: v not in config.MOUNT_ACCESS),
    "encryptType": st.sampled_from([2, -1, "1", "0", True, False, None, 1.5, [1]]),
    "description": st.one_of(
        st.sampled_from(
            ["a", "", "http://x.example.com", "https://files", "1 disk", "disk/one", "disk!"]
        ),
        too_long("d", 128),
        wrong_types(),
    ),
    None: wrong_types(),
}  # fmt: skip


@st.composite
def nas_faults(draw):
    names = draw(st.lists(LOGICAL, min_size=1, max_size=3, unique=True))
    volumes = [{"name": n} for n in names]
    index = draw(st.integers(0, len(volumes) - 1))
    field_name, value = _field_fault(draw, NAS_FIELD_FAULTS, config.NAS_FIELDS)
    volumes[index][field_name] = value
    expected = (f"nasVolumes[{index}].{field_name}",)
    if field_name == "name" and value in names:
        expected = (*expected, f"nasVolumes[{names.index(value)}].name")
    if draw(st.booleans()):
        kind = draw(st.sampled_from(["name", "mountPath"]))
        copy = dict(volumes[0], name=f"{names[0]}x" if kind == "mountPath" else volumes[0]["name"])
        copy["mountPath"] = volumes[0].get("mountPath", "/mnt/data/")
        volumes.append(copy)
        expected = (*expected, f"nasVolumes[{len(volumes) - 1}]")
    return Case(draw(st.sampled_from(["dev", "prod"])), {"nasVolumes": volumes}, expected)


def _network(draw, prefix_low, prefix_high):
    """A private network with a prefix length from ``prefix_low`` to ``prefix_high``."""
    block = ipaddress.ip_network(draw(st.sampled_from(PRIVATE_BLOCKS)))
    prefix = draw(st.integers(max(prefix_low, block.prefixlen), prefix_high))
    index = draw(st.integers(0, 2 ** (prefix - block.prefixlen) - 1))
    return ipaddress.ip_network((int(block.network_address) + index * 2 ** (32 - prefix), prefix))


@st.composite
def network_faults(draw):
    kind = draw(st.sampled_from(["vswitch text", "vpc text", "outside", "prefix", "public",
                                 "host bits", "alone"]))  # fmt: skip
    if kind in ("vswitch text", "vpc text"):
        key = "networkVswitchCidr" if kind.startswith("vswitch") else "networkVpcCidr"
        value = draw(
            st.one_of(
                st.text(max_size=20),
                st.sampled_from(["10.0.0.0/33", "10.0.0/24", "::/0", "fd00::/8", "10.0.0.0/",
                                 "10.0.0.0/-1", "10.0.0.0/8/8", "10.0.0.256/24", " 10.0.0.0/8"]),
            ).filter(lambda s: s != "")
        )  # fmt: skip
        return Case("dev", {key: value}, (key,))
    if kind == "outside":
        # Two private ranges where the vSwitch does not lie inside the VPC: disjoint, or wider.
        vpc = _network(draw, 16, 24)
        vswitch = _network(draw, 16, 29)
        if vswitch.subnet_of(vpc):
            vswitch = vpc.supernet(new_prefix=16) if vpc.prefixlen > 16 else None
        if vswitch is None or vswitch.subnet_of(vpc):
            vswitch = next(n for n in (_private(b) for b in PRIVATE_BLOCKS) if not n.overlaps(vpc))
        keys = {"networkVpcCidr": str(vpc), "networkVswitchCidr": str(vswitch)}
        return Case("dev", keys, ("networkVswitchCidr",))
    if kind == "prefix":
        key = draw(st.sampled_from(["networkVswitchCidr", "networkVpcCidr"]))
        low, high = (16, 29) if key == "networkVswitchCidr" else (8, 28)
        prefix = draw(st.one_of(st.integers(high + 1, 32), st.integers(0, low - 1)))
        base = draw(st.sampled_from(PRIVATE_BLOCKS)).split("/")[0]
        value = str(ipaddress.ip_network(f"{base}/{prefix}", strict=False))
        return Case("dev", {key: value}, (key,))
    if kind == "public":
        key = draw(st.sampled_from(["networkVswitchCidr", "networkVpcCidr"]))
        value = draw(
            st.sampled_from(["8.8.0.0/16", "47.96.0.0/16", "100.64.0.0/16", "0.0.0.0/16",
                             "127.0.0.0/16", "169.254.0.0/16", "198.18.0.0/16", "240.0.0.0/16"])
        )  # fmt: skip
        return Case("dev", {key: value}, (key,))
    if kind == "host bits":
        key = draw(st.sampled_from(["networkVswitchCidr", "networkVpcCidr"]))
        value = draw(st.sampled_from(["10.42.1.7/24", "10.42.0.1/16", "192.168.1.1/24"]))
        return Case("dev", {key: value}, (key,))
    key = draw(st.sampled_from(["networkVpcId", "networkVswitchId"]))
    other = "networkVswitchId" if key == "networkVpcId" else "networkVpcId"
    value = draw(st.one_of(st.sampled_from(["vpc-2zeabcd1234", "vsw-2zeabcd1234"]),
                           planted(st.just("vpc-2zeabcd1234"), ["A", "_", *FOREIGN])))  # fmt: skip
    return Case("prod", {key: value}, (key, other))


def _private(block):
    return next(ipaddress.ip_network(block).subnets(new_prefix=24))


@st.composite
def unknown_keys(draw):
    name = draw(
        st.text(alphabet=LOWER + LOWER.upper() + DIGITS + "-_.", min_size=1, max_size=30).filter(
            lambda s: s not in config.KEY_NAMES
        )
    )
    return Case(
        draw(st.sampled_from(["dev", "prod"])), {name: draw(wrong_types())}, (f"pai-kit:{name}",)
    )


@st.composite
def secret_faults(draw):
    if draw(st.booleans()):
        key = draw(st.sampled_from(config.NAMING_KEYS))
        return Case("prod", {}, (key,), secret_keys=frozenset({f"{config.PROJECT}:{key}"}))
    key = draw(st.sampled_from(config.CREDENTIAL_KEYS))
    value = draw(st.text(alphabet=LOWER + DIGITS, min_size=16, max_size=30))
    return Case("dev", {}, (key,), extra={key: value})


# Buckets and volumes have the most fields, so they come up twice as often.
HOSTILE_CASES = st.one_of(
    scalar_faults(), region_faults(), type_faults(), list_item_faults(), too_many_tags(),
    bucket_faults(), bucket_faults(), nas_faults(), nas_faults(), network_faults(),
    unknown_keys(), secret_faults(),
)  # fmt: skip


def _names_the_key(problems, expected):
    return any(p.startswith(e) for p in problems for e in expected)


# Faults found before: every run checks them, whatever the generator draws.
KNOWN_FAULTS = [
    Case("dev", {"buckets": [{"name": "abc", "paiConsumers": ["itag", "studio-preview", "x"]}]},
         ("buckets[0].paiConsumers",)),
    Case("dev", {"buckets": [{"name": "abc\n"}]}, ("buckets[0].name",)),
    Case("dev", {"environment": "dev\n"}, ("environment",)),
    Case("dev", {"networkVpcCidr": "127.0.0.0/16", "networkVswitchCidr": "127.0.1.0/24"},
         ("networkVpcCidr",)),
]  # fmt: skip


def _with_known_faults(test):
    for case in KNOWN_FAULTS:
        test = example(case=case)(test)
    return test


@_with_known_faults
@settings(**HOSTILE, max_examples=LOAD_EXAMPLES)
@given(case=HOSTILE_CASES)
def test_hostile_configs_end_in_one_config_error_naming_the_key(case):
    COUNTS["generated"] += 1
    with pytest.raises(ConfigError) as caught:
        config.load(case.raw(), case.stack, case.secret_keys)
    assert _names_the_key(caught.value.problems, case.expected), (case, caught.value.problems)
    COUNTS["clean"] += 1


@settings(**HOSTILE, max_examples=PROGRAM_EXAMPLES)
@given(case=HOSTILE_CASES)
def test_hostile_configs_stop_the_program_before_any_resource(case):
    COUNTS["generated"] += 1
    mocks = RecordingMocks()
    with pytest.raises(pulumi.RunError) as caught:
        run_program(
            case.stack, config=case.raw(), secret_keys=sorted(case.secret_keys), mocks=mocks
        )
    message = str(caught.value)
    assert message.startswith("invalid stack configuration")
    assert any(f"  - {e}" in message for e in case.expected), (case, message)
    assert mocks.registrations == []
    COUNTS["clean"] += 1
    COUNTS["through the program"] += 1


# --- valid values at the limits are accepted -----------------------------------------------------


def _settings(stack="dev", **keys):
    return config.load(Case(stack, keys, ()).raw(), stack)


@settings(**HOSTILE, max_examples=40)
@given(
    short=st.from_regex(r"\A[a-z0-9][a-z0-9-][a-z0-9]\Z"),
    long=st.from_regex(r"\A[a-z0-9][a-z0-9-]{61}[a-z0-9]\Z"),
    environment=st.sampled_from(["a", "e" * 31, "a-1"]),
)
def test_names_at_their_limits_are_accepted(short, long, environment):
    settings_ = _settings(buckets=[{"name": short}, {"name": long}], environment=environment)
    assert [b.name for b in settings_.buckets] == [short, long]
    assert len(short) == 3 and len(long) == 63


BOUNDARIES = [
    ({"project": "ab"}, lambda s: s.project == "ab"),
    ({"project": "p" * 32}, lambda s: s.project == "p" * 32),
    ({"costOwner": "x"}, lambda s: s.tags["cost-owner"] == "x"),
    ({"costOwner": "o" * 128}, lambda s: s.tags["cost-owner"] == "o" * 128),
    ({"costOwner": "数据平台"}, lambda s: s.tags["cost-owner"] == "数据平台"),
    ({"easPolicyName": "P" * 128}, lambda s: s.eas_policy.name == "P" * 128),
    ({"easPolicyUsers": ["u" * 128]}, lambda s: s.eas_policy.users == ("u" * 128,)),
    ({"paiWorkspaceId": "9" * 20}, lambda s: s.pai_workspace_id == "9" * 20),
    ({"kmsKeyId": "k" * 128, "encryption": "KMS"}, lambda s: s.buckets[0].kms_key_id == "k" * 128),
    ({"tags": [f"t{i}=v" for i in range(16)]}, lambda s: len(s.tags) == 19),
    ({"tags": ["k" * 128 + "=" + "v" * 128, "empty="]}, lambda s: s.tags["empty"] == ""),
    ({"buckets": [{"name": "abc", "corsMaxAgeSeconds": 0}]},
     lambda s: s.buckets[0].cors_max_age_seconds == 0),
    ({"buckets": [{"name": "abc", "corsMaxAgeSeconds": 2**31 - 1}]},
     lambda s: s.buckets[0].cors_max_age_seconds == 2**31 - 1),
    ({"nasVolumes": [{"name": "ab"}, {"name": "n" * 32}]},
     lambda s: [v.name for v in s.nas_volumes] == ["ab", "n" * 32]),
    ({"nasVolumes": [{"name": "ab", "description": "Ab"},
                     {"name": "cd", "description": "D" * 128}]},
     lambda s: [len(v.description) for v in s.nas_volumes] == [2, 128]),
    ({"networkVpcCidr": "10.0.0.0/8", "networkVswitchCidr": "10.9.0.0/16"},
     lambda s: s.network.vswitch_cidr == "10.9.0.0/16"),
    ({"networkVpcCidr": "192.168.7.0/28", "networkVswitchCidr": "192.168.7.8/29"},
     lambda s: s.network.vswitch_cidr == "192.168.7.8/29"),
    ({"buckets": [{"name": "abc", "paiConsumers": [], "corsPresets": [], "customCorsRules": [
        {"allowedOrigins": [f"https://a{i}.example.com"], "allowedMethods": ["GET"]}
        for i in range(10)]}]}, lambda s: len(s.buckets[0].cors_rules) == 10),
]  # fmt: skip


@pytest.mark.parametrize(("keys", "check"), BOUNDARIES)
def test_values_at_their_limits_are_accepted(keys, check):
    assert check(_settings(**keys))


def test_names_at_their_limits_reach_the_planned_resources():
    _, values, _ = stack_config("dev")
    names = ["a1b", "z" * 63]
    values = dict(values, **{"pai-kit:buckets": json.dumps([{"name": n} for n in names])})
    plan = run_program("dev", config=values)
    planned = sorted(
        r.inputs["bucket"] for r in plan.resources if r.type.endswith("/bucket:Bucket")
    )
    assert planned == sorted(names)


# --- stack files ----------------------------------------------------------------------------------

_LAUGHS = list(zip("abcde", "bcdef", strict=True))  # each level holds ten of the one before
BAD_STACK_FILES = {
    "not YAML": ("config: {alicloud:region: cn-hangzhou\n", "is not valid YAML at line 2"),
    "a list": ("- alicloud:region\n", "must hold a mapping at its top level"),
    "config a list": ("config: [1, 2]\n", "'config' must be a mapping"),
    "duplicate key": ("config:\n  pai-kit:project: a\n  pai-kit:project: b\n", "duplicate key"),
    "number key": ("config:\n  123: x\n", "config key 123 must be a name"),
    "a set": ("config:\n  pai-kit:tags: !!set {a, b}\n", "not plain YAML data"),
    "python tag": ("config:\n  x: !!python/object/apply:os.system [ls]\n", "not valid YAML"),
    "deep": ("config:\n  x: " + "[" * 1100 + "]" * 1100 + "\n", "nested too deeply"),
    "aliases": (
        "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
        + "".join(f"{c}: &{c} [{', '.join(['*' + p] * 10)}]\n" for p, c in _LAUGHS)
        + "config: {}\n",
        "expands to more than",
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(BAD_STACK_FILES))
def test_bad_stack_files_are_one_clear_stack_file_error(tmp_path, name):
    text, fragment = BAD_STACK_FILES[name]
    path = tmp_path / "Pulumi.bad.yaml"
    path.write_text(text)
    with pytest.raises(StackFileError) as caught:
        stack_config("bad", ROOT, path)
    assert fragment in str(caught.value)
    assert "\n" not in str(caught.value)


def test_undecodable_and_missing_stack_files_are_stack_file_errors(tmp_path):
    path = tmp_path / "Pulumi.bin.yaml"
    path.write_bytes(b"\xff\xfe\x00 not text")
    with pytest.raises(StackFileError, match="cannot be read"):
        stack_config("bin", ROOT, path)
    with pytest.raises(StackFileError, match=r"Pulumi\.gone\.yaml not found; stacks here: dev"):
        stack_config("gone")


def test_dates_stay_text_the_way_the_cli_reads_them(tmp_path):
    path = tmp_path / "Pulumi.dates.yaml"
    path.write_text("config:\n  alicloud:region: cn-hangzhou\n  pai-kit:costOwner: 2026-01-31\n")
    assert stack_config("dates", ROOT, path)[1]["pai-kit:costOwner"] == "2026-01-31"


def _plan_command(*args):
    return subprocess.run(
        [sys.executable, "-m", "paikit.plan", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("problem", ["missing", "not YAML"])
def test_the_plan_command_exits_2_with_one_line_for_a_bad_stack_file(tmp_path, problem):
    if problem == "missing":
        result = _plan_command("no-such-stack")
    else:
        path = tmp_path / "Pulumi.bad.yaml"
        path.write_text(BAD_STACK_FILES[problem][0])
        result = _plan_command("bad", "--stack-file", str(path))
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stderr.startswith("error: stack file ")
    assert "Traceback" not in result.stderr


def test_at_least_500_hostile_configs_ran_and_every_one_ended_cleanly(capsys):
    if not COUNTS["generated"]:
        pytest.skip("the generating tests did not run in this session")
    with capsys.disabled():
        print(
            f"\nhostile configs: {COUNTS['generated']} generated, {COUNTS['clean']} ended in a "
            f"clean ConfigError naming the key, {COUNTS['through the program']} of them through "
            "the whole program with no resource registered"
        )
    assert COUNTS["generated"] >= 500
    assert COUNTS["clean"] == COUNTS["generated"]
    assert COUNTS["through the program"] >= 50
