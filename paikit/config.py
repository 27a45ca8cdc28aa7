"""Read and validate every stack setting before any resource is registered.

:func:`load` takes the raw configuration map the engine hands a program (``"pai-kit:key"`` to a
string, JSON for structured values) and returns :class:`Settings`, or raises one
:class:`ConfigError` that names each bad key, its value and what is allowed. Pure: no Pulumi
imports, so the offline plan, the tests and the program share it.
"""

from __future__ import annotations

import difflib
import ipaddress
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from paikit import cors
from paikit.documents import EAS_SERVICE_NAME

PROJECT = "pai-kit"
# What an encrypted (secure:) value reads as where the stack's secrets cannot be decrypted.
SECRET_PLACEHOLDER = "[secret]"
REGION_KEY = "alicloud:region"
# Provider credentials: the environment (ALIBABA_CLOUD_ACCESS_KEY_ID and _SECRET) or Pulumi
# secrets, never plain text in a stack file.
CREDENTIAL_KEYS = ("alicloud:accessKey", "alicloud:secretKey", "alicloud:securityToken")
# The alicloud provider's own config keys (pulumi_alicloud.config).
PROVIDER_KEYS = (
    "accessKey", "accountId", "accountType", "assumeRole", "assumeRoleWithOidc",
    "clientConnectTimeout", "clientReadTimeout", "configurationSource", "credentialsUri",
    "ecsRoleName", "endpoints", "fc", "features", "logEndpoint", "maxRetryTimeout",
    "mnsEndpoint", "otsInstanceName", "profile", "protocol", "region", "secretKey",
    "secureTransport", "securityToken", "securityTransport", "sharedCredentialsFile",
    "signVersion", "skipRegionValidation", "sourceIp",
)  # fmt: skip
# Keys whose entries become resource names; Pulumi never encrypts names (URNs).
NAMING_KEYS = (
    "environment", "project", "buckets", "nasVolumes", "easPolicyUsers", "easPolicyGroups",
)  # fmt: skip

# Alibaba Cloud regions (public cloud, mainland China and international).
REGIONS = (
    "cn-qingdao", "cn-beijing", "cn-zhangjiakou", "cn-huhehaote", "cn-wulanchabu",
    "cn-hangzhou", "cn-shanghai", "cn-nanjing", "cn-fuzhou", "cn-shenzhen", "cn-heyuan",
    "cn-guangzhou", "cn-chengdu", "cn-wuhan-lr", "cn-hongkong", "ap-northeast-1",
    "ap-northeast-2", "ap-southeast-1", "ap-southeast-3", "ap-southeast-5", "ap-southeast-6",
    "ap-southeast-7", "us-east-1", "us-west-1", "eu-west-1", "eu-central-1", "me-east-1",
    "me-central-1", "na-south-1",
)  # fmt: skip
NAS_STORAGE_TYPES = ("Performance", "Capacity", "Premium")
# 1: NAS-managed key. 0 (no encryption) is refused; 2 (a KMS key of your own) is extreme NAS only.
NAS_ENCRYPT_TYPES = (1,)
SSE_ALGORITHMS = ("AES256", "KMS")
REDUNDANCY_TYPES = ("LRS", "ZRS")
STORAGE_CLASSES = ("Standard", "IA", "Archive", "ColdArchive", "DeepColdArchive")
MOUNT_ACCESS = ("RW", "RO")
DEFAULT_VPC_CIDR = "10.42.0.0/16"
DEFAULT_VSWITCH_CIDR = "10.42.1.0/24"
MAX_BUCKET_TAGS = 20
# Tags the kit writes itself; a bucket also gets CONSUMERS_TAG.
KIT_TAGS = ("environment", "project", "cost-owner")
CONSUMERS_TAG = cors.CONSUMERS_TAG

# Applied with fullmatch: `$` alone lets a trailing newline through.
_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
_POLICY_NAME = re.compile(r"^[A-Za-z0-9-]{1,128}$")
_LOGICAL_NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}[a-z0-9]$")
_ENVIRONMENT = re.compile(r"^[a-z][a-z0-9-]{0,30}$")
_RAM_PRINCIPAL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$")
_TAG_KEY = re.compile(r"^(?!aliyun|acs:)[^\s=][^=]{0,127}$", re.IGNORECASE)
_TAG_VALUE = re.compile(r"^(?!aliyun|acs:)[^\n]{0,128}$", re.IGNORECASE)
_RESOURCE_ID = re.compile(r"^[a-z]+-[a-z0-9]{4,40}$")
_ZONE = re.compile(r"^[a-z]{2}-[a-z0-9-]+$")
_KMS_KEY = re.compile(r"^[A-Za-z0-9-]{1,128}$|^acs:kms:[a-z0-9-]+:\d+:key/[A-Za-z0-9-]+$")
_WORKSPACE_ID = re.compile(r"^[0-9]{1,20}$")
# The ranges a VPC takes; ipaddress's is_private would also let loopback and link-local in.
_PRIVATE_BLOCKS = tuple(
    ipaddress.IPv4Network(b) for b in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
)


class ConfigError(ValueError):
    """Stack configuration that the kit refuses; ``problems`` holds one line per bad key."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"invalid stack configuration ({len(problems)} problem(s)):\n{lines}")


# --- declared keys ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Key:
    """A project config key as ``Pulumi.yaml`` declares it."""

    name: str
    type: str  # string | boolean | integer | array | object-list
    default: Any
    description: str


KEYS: tuple[Key, ...] = (
    Key("environment", "string", "", "Environment name for tags and names; empty: stack name."),
    Key("protectedEnvironments", "array", ["prod"], "Environments whose data is protected."),
    Key("project", "string", "pai", "Value of the project tag and prefix of derived names."),
    Key("costOwner", "string", "pai-platform", "Value of the cost-owner tag."),
    Key("tags", "array", [], "Extra tags as key=value strings, merged into every resource."),
    Key("encryption", "string", "AES256", "Server-side encryption of buckets: AES256 or KMS."),
    Key("kmsKeyId", "string", "", "KMS key for bucket encryption when encryption is KMS."),
    Key("accessLogBucket", "string", "", "Existing bucket for access logs; empty: none."),
    Key("paiWorkspaceId", "string", "", "PAI workspace id; when set, NAS is a PAI dataset."),
    Key("easPolicyName", "string", "", "RAM policy name; empty: PaiEasServiceLinkedRole-<env>."),
    Key("easPolicyUsers", "array", [], "RAM users the EAS role policy is attached to."),
    Key("easPolicyGroups", "array", [], "RAM groups the EAS role policy is attached to."),
    Key("easPolicyAllowDelete", "boolean", False, "Also allow deleting the EAS role."),
    Key("easCreateServiceLinkedRole", "boolean", False, "Create the EAS service-linked role."),
    Key("networkVpcId", "string", "", "Existing DSW VPC; empty: the kit creates one."),
    Key("networkVswitchId", "string", "", "Existing DSW vSwitch (with networkVpcId)."),
    Key("networkVswitchCidr", "string", "", "DSW vSwitch CIDR; NAS access is limited to it."),
    Key("networkZoneId", "string", "", "Zone of the DSW vSwitch; empty: first zone selling NAS."),
    Key("networkVpcCidr", "string", DEFAULT_VPC_CIDR, "CIDR of the VPC the kit creates."),
    Key("buckets", "object-list", None, "PAI data buckets; see README."),
    Key("nasVolumes", "object-list", None, "NAS volumes for DSW; see README."),
)  # fmt: skip
KEY_NAMES = tuple(k.name for k in KEYS)

BUCKET_FIELDS = (
    "name", "default", "paiConsumers", "corsPresets", "customCorsRules", "customCorsRulesFirst",
    "corsMaxAgeSeconds", "responseVary", "versioning", "encryption", "kmsKeyId",
    "redundancyType", "storageClass", "forceDestroy",
)  # fmt: skip
CORS_RULE_FIELDS = (
    "allowedOrigins", "allowedMethods", "allowedHeaders", "exposeHeaders", "maxAgeSeconds",
)  # fmt: skip
NAS_FIELDS = (
    "name", "default", "storageType", "encryptType", "mountPath", "mountAccess", "description",
)  # fmt: skip


# --- settings ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class BucketSettings:
    name: str
    is_default: bool
    pai_consumers: tuple[str, ...]
    cors_presets: tuple[str, ...]
    custom_cors_rules: tuple[cors.CorsRule, ...]
    custom_cors_rules_first: bool
    cors_max_age_seconds: int | None
    response_vary: bool
    versioning: bool
    encryption: str
    kms_key_id: str | None
    redundancy_type: str
    storage_class: str
    force_destroy: bool

    @property
    def cors_rules(self) -> tuple[cors.CorsRule, ...]:
        """The final rule list, in the order OSS evaluates it."""
        presets = tuple(
            cors.CONSUMERS[p].rule(self.cors_max_age_seconds) for p in self.cors_presets
        )
        if self.custom_cors_rules_first:
            return self.custom_cors_rules + presets
        return presets + self.custom_cors_rules


@dataclass(frozen=True)
class NasVolumeSettings:
    name: str
    is_default: bool
    storage_type: str
    encrypt_type: int
    mount_path: str
    mount_access: str
    description: str


@dataclass(frozen=True)
class NetworkSettings:
    vpc_id: str | None
    vswitch_id: str | None
    vswitch_cidr: str
    zone_id: str | None
    vpc_cidr: str

    @property
    def create(self) -> bool:
        return self.vpc_id is None


@dataclass(frozen=True)
class EasPolicySettings:
    name: str
    users: tuple[str, ...]
    groups: tuple[str, ...]
    allow_delete: bool
    create_service_linked_role: bool
    service_name: str = EAS_SERVICE_NAME


@dataclass(frozen=True)
class Settings:
    stack: str
    region: str
    environment: str
    protected: bool
    project: str
    tags: Mapping[str, str]
    buckets: tuple[BucketSettings, ...]
    nas_volumes: tuple[NasVolumeSettings, ...]
    network: NetworkSettings
    eas_policy: EasPolicySettings
    pai_workspace_id: str | None
    access_log_bucket: str | None = None
    secret_keys: frozenset[str] = field(default=frozenset())

    @property
    def default_bucket(self) -> BucketSettings:
        return next(b for b in self.buckets if b.is_default)

    @property
    def default_nas_volume(self) -> NasVolumeSettings:
        return next(v for v in self.nas_volumes if v.is_default)


# --- reading ----------------------------------------------------------------------------------


class _Reader:
    """Collects problems instead of stopping at the first one."""

    def __init__(
        self, opaque: frozenset[str] = frozenset(), secrets: frozenset[str] = frozenset()
    ) -> None:
        self.problems: list[str] = []
        self.opaque = opaque
        self.secrets = secrets

    def is_opaque(self, value: Any) -> bool:
        """A secret that could not be decrypted: its form can't be checked, only its place."""
        return isinstance(value, str) and value in self.opaque

    def fail(self, key: str, value: Any, allowed: str) -> None:
        shown = SECRET_PLACEHOLDER if mentions_secret(value, self.secrets) else _show(value)
        if self.opaque and mentions_secret(value, self.opaque):
            allowed += " (an encrypted value can't be checked offline; keep this key in plain text)"
        self.problems.append(f"{key} = {shown}: {redact(allowed, self.secrets)}")

    def string(self, key: str, value: Any, pattern: re.Pattern | None, allowed: str) -> str:
        if self.is_opaque(value):
            return value
        if not isinstance(value, str) or (pattern is not None and not pattern.fullmatch(value)):
            self.fail(key, value, allowed)
            return ""
        return value

    def choice(self, key: str, value: Any, choices: tuple) -> Any:
        if value not in choices or isinstance(value, bool) != isinstance(choices[0], bool):
            self.fail(key, value, f"one of {', '.join(map(str, choices))}")
            return choices[0]
        return value

    def boolean(self, key: str, value: Any) -> bool | None:
        """The value, or None (reported) when it is not a YAML true or false."""
        if not isinstance(value, bool):
            self.fail(key, value, "true or false")
            return None
        return value

    def integer(self, key: str, value: Any, low: int, high: int) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.fail(key, value, f"a whole number from {low} to {high}")
            return None
        return value

    def string_list(
        self, key: str, value: Any, check: Callable[[str], str | None] | None = None
    ) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail(key, value, "a list of strings")
            return ()
        for item in value:
            why = check(item) if check else None
            if why:
                self.fail(key, item, why)
        if len(set(value)) != len(value):
            self.fail(key, value, "each entry at most once")
        return tuple(value)

    def fields(self, key: str, value: Any, known: tuple[str, ...]) -> dict:
        if not isinstance(value, Mapping):
            self.fail(key, value, f"an object with the fields {', '.join(known)}")
            return {}
        for name in value:
            if name not in known:
                self.fail(f"{key}.{name}", value[name], _unknown_hint(str(name), known))
        return dict(value)


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 80 else text[:77] + "..."


def secret_texts(raw: Mapping[str, Any], secret_keys: frozenset[str]) -> frozenset[str]:
    """The plain text of every secret value, and of each string inside a structured one."""
    texts: set[str] = set()

    def collect(value: Any) -> None:
        if isinstance(value, str):
            texts.add(value)
        elif isinstance(value, Mapping):
            for item in value.values():
                collect(item)
        elif isinstance(value, list):
            for item in value:
                collect(item)

    for key in secret_keys:
        value = raw.get(key)
        collect(value)
        collect(_parse(value, "object-list"))  # structured values arrive as JSON
    return frozenset(texts - {"", SECRET_PLACEHOLDER})


def mentions_secret(value: Any, secrets: frozenset[str]) -> bool:
    """Whether ``value``, or its JSON form, contains the text of a secret."""
    if not secrets:
        return False
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return any(s in text or json.dumps(s, ensure_ascii=False)[1:-1] in text for s in secrets)


def redact(text: str, secrets: frozenset[str]) -> str:
    """``text`` with every secret in it replaced by the placeholder."""
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, SECRET_PLACEHOLDER)
    return text


def _unknown_hint(name: str, known: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"unknown key; {hint}known keys are {', '.join(known)}"


def _parse(value: Any, declared: str) -> Any:
    """Turn the engine's string form back into the declared type; leave other values alone."""
    if not isinstance(value, str) or declared == "string":
        return value
    try:
        return json.loads(value)
    except (ValueError, RecursionError):
        return value  # left as text, which the key's own check then refuses


def raw_project_config(raw: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Split the engine's ``namespace:key`` map into this project's keys and unknown ones.

    Keys of a namespace that looks like a misspelt ``pai-kit`` count as unknown too.
    """
    values, unknown = {}, []
    for full_key, value in raw.items():
        namespace, _, key = str(full_key).partition(":")
        if namespace != PROJECT:
            if _misspelt_project(namespace):
                unknown.append(str(full_key))
            continue
        if key in KEY_NAMES:
            values[key] = value
        else:
            unknown.append(key)
    return values, unknown


def _misspelt_project(namespace: str) -> bool:
    folded = re.sub(r"[^a-z0-9]", "", namespace.lower())
    return folded == re.sub(r"[^a-z0-9]", "", PROJECT) or bool(
        difflib.get_close_matches(namespace, [PROJECT], n=1, cutoff=0.75)
    )


def provider_key_problems(raw: Mapping[str, Any]) -> list[str]:
    """Misspelt ``alicloud:`` keys, which the provider would otherwise silently ignore."""
    problems = []
    for full_key in raw:
        namespace, _, key = str(full_key).partition(":")
        if namespace == "alicloud" and key not in PROVIDER_KEYS:
            problems.append(f"{full_key}: {_unknown_hint(key, PROVIDER_KEYS)}")
    return problems


def with_defaults(values: Mapping[str, Any]) -> dict[str, Any]:
    merged = {k.name: k.default for k in KEYS if k.default is not None}
    merged.update(values)
    return merged


def load(raw: Mapping[str, Any], stack: str, secret_keys: frozenset[str] = frozenset()) -> Settings:
    """Validate the whole configuration of a stack; raise :class:`ConfigError` on any fault."""
    placeholder_is_secret = any(raw.get(k) == SECRET_PLACEHOLDER for k in secret_keys)
    reader = _Reader(
        frozenset({SECRET_PLACEHOLDER}) if placeholder_is_secret else frozenset(),
        secret_texts(raw, secret_keys),
    )
    for key in CREDENTIAL_KEYS:
        if key in raw and key not in secret_keys:
            reader.fail(
                key,
                SECRET_PLACEHOLDER,
                "never in plain text: set ALICLOUD_ACCESS_KEY and ALICLOUD_SECRET_KEY in the "
                "environment, or use "
                "`pulumi config set --secret`",
            )
    for key in NAMING_KEYS:
        if f"{PROJECT}:{key}" in secret_keys:
            reader.fail(
                key,
                SECRET_PLACEHOLDER,
                "cannot be a secret: its entries name resources, and Pulumi never encrypts "
                "resource names; keep it in plain text",
            )
    values, unknown = raw_project_config(raw)
    for key in unknown:
        if ":" in key:  # a namespace that looks like a misspelt project name
            reader.fail(key, raw[key], f"unknown namespace; this project's keys are {PROJECT}:...")
        elif key in PROVIDER_KEYS:
            full_key = f"{PROJECT}:{key}"
            reader.fail(full_key, raw[full_key], f"a provider setting: write alicloud:{key}")
        else:
            full_key = f"{PROJECT}:{key}"
            reader.fail(full_key, raw[full_key], _unknown_hint(key, KEY_NAMES))
    reader.problems.extend(provider_key_problems(raw))
    declared = {k.name: k.type for k in KEYS}
    values = with_defaults({k: _parse(v, declared[k]) for k, v in values.items()})

    region = raw.get(REGION_KEY)
    if region not in REGIONS:
        reader.fail(
            REGION_KEY,
            region,
            f"an Alibaba Cloud region id such as cn-hangzhou; known: {', '.join(REGIONS)}",
        )

    environment = values["environment"] or stack
    environment = reader.string(
        "environment",
        environment,
        _ENVIRONMENT,
        "lowercase letters, digits and '-', starting with a letter, at most 31 characters",
    )
    protected_envs = reader.string_list(
        "protectedEnvironments",
        values["protectedEnvironments"],
        lambda e: None if _ENVIRONMENT.fullmatch(e) else "an environment name",
    )
    protected = environment in protected_envs
    project = reader.string(
        "project",
        values["project"],
        _LOGICAL_NAME,
        "2 to 32 lowercase letters, digits and '-', starting with a letter",
    )
    cost_owner = reader.string(
        "costOwner",
        values["costOwner"],
        re.compile(r"(?!aliyun|acs:)[^\x00-\x1f\x7f]{1,128}", re.IGNORECASE),
        "1 to 128 characters, no control characters, not starting with 'aliyun' or 'acs:'",
    )
    tags = {"environment": environment, "project": project, "cost-owner": cost_owner}
    tags.update(_read_tags(reader, values["tags"]))
    if len(tags) + 1 > MAX_BUCKET_TAGS:
        reader.fail(
            "tags",
            values["tags"],
            f"at most {MAX_BUCKET_TAGS - len(KIT_TAGS) - 1} extra tags (OSS allows "
            f"{MAX_BUCKET_TAGS} per bucket, {len(KIT_TAGS) + 1} are the kit's)",
        )

    encryption = reader.choice("encryption", values["encryption"], SSE_ALGORITHMS)
    kms_key_id = reader.string("kmsKeyId", values["kmsKeyId"], None, "a string")
    if kms_key_id and not reader.is_opaque(kms_key_id) and not _KMS_KEY.fullmatch(kms_key_id):
        reader.fail("kmsKeyId", kms_key_id, "a KMS key id or key ARN")
    if encryption == "KMS" and not kms_key_id:
        reader.fail("kmsKeyId", kms_key_id, "required when encryption is KMS")

    workspace = reader.string("paiWorkspaceId", values["paiWorkspaceId"], None, "a string")
    if workspace and not (reader.is_opaque(workspace) or _WORKSPACE_ID.fullmatch(workspace)):
        reader.fail("paiWorkspaceId", workspace, "a PAI workspace id (digits)")

    # Names derived from a refused environment or project would only repeat its error.
    name_environment, name_project = environment or "env", project or "pai"
    buckets = _read_buckets(
        reader,
        values.get("buckets"),
        name_environment,
        name_project,
        protected,
        encryption,
        kms_key_id,
    )
    log_bucket = reader.string(
        "accessLogBucket", values["accessLogBucket"], None, "a bucket name or empty"
    )
    if log_bucket and not (reader.is_opaque(log_bucket) or _BUCKET_NAME.fullmatch(log_bucket)):
        reader.fail("accessLogBucket", log_bucket, "an OSS bucket name (3 to 63 characters)")
    elif log_bucket and log_bucket in {b.name for b in buckets}:
        # A bucket that logs into itself, or into another data bucket, mixes logs with data.
        reader.fail("accessLogBucket", log_bucket, "a bucket of its own, not a data bucket")
    network = _read_network(reader, values, region if region in REGIONS else None)
    volumes = _read_nas_volumes(reader, values.get("nasVolumes"))
    eas = _read_eas(reader, values, name_environment)

    if reader.problems:
        raise ConfigError(reader.problems)
    return Settings(
        stack=stack,
        region=region,
        environment=environment,
        protected=protected,
        project=project,
        tags=dict(sorted(tags.items())),
        buckets=buckets,
        nas_volumes=volumes,
        network=network,
        eas_policy=eas,
        pai_workspace_id=workspace or None,
        access_log_bucket=log_bucket or None,
        secret_keys=secret_keys,
    )


def _read_tags(reader: _Reader, value: Any) -> dict[str, str]:
    tags: dict[str, str] = {}
    for item in reader.string_list("tags", value):
        key, sep, tag_value = item.partition("=")
        if not sep or not _TAG_KEY.fullmatch(key) or not _TAG_VALUE.fullmatch(tag_value):
            reader.fail(
                "tags",
                item,
                "key=value, a key of 1 to 128 characters and a value of "
                "at most 128, neither starting with 'aliyun' or 'acs:'",
            )
        elif key == CONSUMERS_TAG:
            reader.fail("tags", item, f"the {key!r} tag comes from each bucket's paiConsumers")
        elif key in KIT_TAGS:
            reader.fail("tags", item, f"the {key!r} tag comes from its own config key")
        elif key in tags:
            reader.fail("tags", item, f"the tag {key!r} is set twice")
        else:
            tags[key] = tag_value
    return tags


def _object_list(reader: _Reader, key: str, value: Any) -> list:
    if isinstance(value, str):
        reader.fail(key, value, "a list of objects (YAML list under the key)")
        return []
    if not isinstance(value, list) or not value:
        reader.fail(key, value, "a non-empty list of objects")
        return []
    return value


def _pick_default(reader: _Reader, key: str, items: list[dict]) -> int:
    for i, item in enumerate(items):
        if "default" in item and not isinstance(item["default"], bool):
            reader.fail(f"{key}[{i}].default", item["default"], "true or false")
    marked = [i for i, item in enumerate(items) if item.get("default") is True]
    if len(marked) > 1:
        reader.fail(key, [items[i].get("name") for i in marked], "at most one default entry")
    return marked[0] if marked else 0


def _read_buckets(
    reader: _Reader,
    value: Any,
    environment: str,
    project: str,
    protected: bool,
    encryption: str,
    kms_key_id: str,
) -> tuple[BucketSettings, ...]:
    if value is None:
        value = [{"name": f"{project}-{environment}-data"}]
    entries = [
        reader.fields(f"buckets[{i}]", item, BUCKET_FIELDS)
        for i, item in enumerate(_object_list(reader, "buckets", value))
    ]
    default_index = _pick_default(reader, "buckets", entries)
    buckets, seen = [], set()
    for i, item in enumerate(entries):
        key = f"buckets[{i}]"
        name = reader.string(
            f"{key}.name",
            item.get("name"),
            _BUCKET_NAME,
            "3 to 63 lowercase letters, digits and '-', starting and ending with a letter or "
            "digit (unique across all of OSS)",
        )
        if name and name in seen:
            reader.fail(f"{key}.name", name, "each bucket name at most once in a stack")
        seen.add(name)

        consumers = reader.string_list(
            f"{key}.paiConsumers",
            item.get("paiConsumers", list(cors.PRESETS)),
            lambda p: None if p in cors.PRESETS else f"one of {', '.join(cors.PRESETS)}",
        )
        if "corsPresets" in item:
            presets = reader.string_list(
                f"{key}.corsPresets",
                item["corsPresets"],
                lambda p: None if p in cors.PRESETS else f"one of {', '.join(cors.PRESETS)}",
            )
        else:
            presets = tuple(c for c in consumers if c in cors.CONSUMERS)
        before = len(reader.problems)
        max_age = item.get("corsMaxAgeSeconds")
        if max_age is not None:
            max_age = reader.integer(f"{key}.corsMaxAgeSeconds", max_age, 0, 2**31 - 1)
        custom = _read_cors_rules(reader, f"{key}.customCorsRules", item.get("customCorsRules", []))
        first = reader.boolean(
            f"{key}.customCorsRulesFirst", item.get("customCorsRulesFirst", False)
        )
        needs_vary = any(
            cors.CONSUMERS[p].needs_vary for p in (*consumers, *presets) if p in cors.CONSUMERS
        )
        has_rules = bool(presets or custom)
        vary = reader.boolean(f"{key}.responseVary", item.get("responseVary", has_rules))
        if needs_vary and vary is False:
            reader.fail(f"{key}.responseVary", False, "must be true: PAI iTAG needs Vary: Origin")
        versioning = reader.boolean(f"{key}.versioning", item.get("versioning", protected))
        if protected and versioning is False:
            reader.fail(
                f"{key}.versioning",
                False,
                f"must be true in the protected environment {environment!r}",
            )
        force_destroy = reader.boolean(f"{key}.forceDestroy", item.get("forceDestroy", False))
        if protected and force_destroy:
            reader.fail(
                f"{key}.forceDestroy",
                True,
                f"not allowed in the protected environment {environment!r}",
            )
        sse = reader.choice(f"{key}.encryption", item.get("encryption", encryption), SSE_ALGORITHMS)
        bucket_kms = item.get("kmsKeyId", kms_key_id if sse == "KMS" else "")
        if "encryption" in item or "kmsKeyId" in item:
            # Checked here only when the bucket sets its own; the stack's keys are checked once.
            failed = len(reader.problems)
            bucket_kms = reader.string(f"{key}.kmsKeyId", bucket_kms, None, "a string")
            if len(reader.problems) > failed:
                pass
            elif bucket_kms and not (
                reader.is_opaque(bucket_kms) or _KMS_KEY.fullmatch(bucket_kms)
            ):
                reader.fail(f"{key}.kmsKeyId", bucket_kms, "a KMS key id or key ARN")
            elif sse == "KMS" and not bucket_kms:
                reader.fail(f"{key}.kmsKeyId", bucket_kms, "required when encryption is KMS")
            elif sse != "KMS" and bucket_kms:
                reader.fail(f"{key}.kmsKeyId", bucket_kms, "only with encryption KMS")
        if not isinstance(bucket_kms, str):
            bucket_kms = ""

        known_presets = tuple(p for p in presets if p in cors.CONSUMERS)
        bucket = BucketSettings(
            name=name,
            is_default=i == default_index,
            pai_consumers=tuple(c for c in consumers if c in cors.CONSUMERS),
            cors_presets=known_presets,
            custom_cors_rules=custom,
            custom_cors_rules_first=first,
            cors_max_age_seconds=max_age,
            response_vary=vary,
            versioning=versioning,
            encryption=sse,
            kms_key_id=bucket_kms or None,
            redundancy_type=reader.choice(
                f"{key}.redundancyType",
                item.get("redundancyType", "LRS"),
                REDUNDANCY_TYPES,
            ),
            storage_class=reader.choice(
                f"{key}.storageClass", item.get("storageClass", "Standard"), STORAGE_CLASSES
            ),
            force_destroy=force_destroy,
        )
        rules = bucket.cors_rules
        if len(rules) > cors.MAX_RULES:
            reader.fail(
                f"{key}.customCorsRules",
                f"{len(custom)} rules",
                f"with {len(bucket.cors_presets)} preset rule(s) that makes {len(rules)} CORS "
                f"rules; OSS allows at most {cors.MAX_RULES} per bucket",
            )
        if vary and not rules:
            reader.fail(f"{key}.responseVary", True, "valid only when the bucket has CORS rules")
        if len(reader.problems) == before:
            # Coverage is judged only on an otherwise valid bucket, one line per consumer.
            gaps: dict[str, list[cors.Gap]] = {}
            for gap in cors.coverage_gaps(rules, bucket.pai_consumers, response_vary=vary):
                gaps.setdefault(gap.preset, []).append(gap)
            blamed, shown = (
                ("customCorsRules", [_engine_rule(r) for r in custom])
                if custom
                else ("corsPresets", list(bucket.cors_presets))
            )
            for preset, found in gaps.items():
                more = f" (and {len(found) - 1} more such requests)" if len(found) > 1 else ""
                reader.fail(
                    f"{key}.{blamed}",
                    shown,
                    f"{found[0]}{more}; the rules must serve every console in paiConsumers "
                    f"({preset} here)",
                )
        buckets.append(bucket)
    return tuple(buckets)


def _engine_rule(rule: cors.CorsRule) -> dict:
    """A rule in the camelCase form stack files use, for error messages."""
    args = rule.to_args()
    return {field: args[snake] for field, snake in _RULE_ARGS.items() if snake in args}


_RULE_ARGS = {
    "allowedOrigins": "allowed_origins",
    "allowedMethods": "allowed_methods",
    "allowedHeaders": "allowed_headers",
    "exposeHeaders": "expose_headers",
    "maxAgeSeconds": "max_age_seconds",
}


def _read_cors_rules(reader: _Reader, key: str, value: Any) -> tuple[cors.CorsRule, ...]:
    if not isinstance(value, list):
        reader.fail(key, value, "a list of CORS rules")
        return ()
    rules = []
    for i, raw in enumerate(value):
        item = reader.fields(f"{key}[{i}]", raw, CORS_RULE_FIELDS)
        lists = {}
        for name in CORS_RULE_FIELDS[:4]:
            lists[name] = reader.string_list(f"{key}[{i}].{name}", item.get(name, []))
        max_age = item.get("maxAgeSeconds")
        if max_age is not None:
            max_age = reader.integer(f"{key}[{i}].maxAgeSeconds", max_age, 0, 2**31 - 1)
        rule = cors.CorsRule(
            allowed_origins=lists["allowedOrigins"],
            allowed_methods=lists["allowedMethods"],
            allowed_headers=lists["allowedHeaders"],
            expose_headers=lists["exposeHeaders"],
            max_age_seconds=max_age,
        )
        for problem in cors.rule_problems(rule):
            reader.fail(f"{key}[{i}]", item, problem)
        for origin in rule.allowed_origins:
            if origin in ("*", "http://*", "https://*"):
                # OSS accepts it, but then any web page can read the bucket with a user's session.
                reader.fail(
                    f"{key}[{i}].allowedOrigins",
                    origin,
                    "name the origins; an origin of '*' lets every website read the bucket",
                )
        rules.append(rule)
    return tuple(rules)


def _cidr(reader: _Reader, key: str, value: str, low: int, high: int):
    try:
        network = ipaddress.IPv4Network(value, strict=True)
    except (ValueError, TypeError):
        reader.fail(key, value, "an IPv4 CIDR block such as 10.42.1.0/24 (host bits zero)")
        return None
    if not low <= network.prefixlen <= high:
        reader.fail(key, value, f"a prefix length from /{low} to /{high}")
        return None
    if not any(network.subnet_of(block) for block in _PRIVATE_BLOCKS):
        reader.fail(key, value, "a private range (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16)")
        return None
    return network


def _default_vswitch_cidr(vpc_cidr: Any) -> str:
    """The vSwitch the kit creates: the second /24 of the VPC, or the whole of a smaller VPC."""
    try:
        vpc = ipaddress.IPv4Network(vpc_cidr, strict=True)
    except (ValueError, TypeError):
        return DEFAULT_VSWITCH_CIDR
    if vpc.prefixlen >= 24:
        return str(vpc)
    subnets = vpc.subnets(new_prefix=24)
    next(subnets)
    return str(next(subnets))


def _read_network(
    reader: _Reader, values: Mapping[str, Any], region: str | None
) -> NetworkSettings:
    vpc_id = reader.string("networkVpcId", values["networkVpcId"], None, "a string")
    vswitch_id = reader.string("networkVswitchId", values["networkVswitchId"], None, "a string")
    zone_id = reader.string("networkZoneId", values["networkZoneId"], None, "a string")
    vswitch_cidr = reader.string(
        "networkVswitchCidr", values["networkVswitchCidr"], None, "a string"
    )
    vpc_cidr = reader.string("networkVpcCidr", values["networkVpcCidr"], None, "a string")
    if vpc_id and not (reader.is_opaque(vpc_id) or _RESOURCE_ID.fullmatch(vpc_id)):
        reader.fail("networkVpcId", vpc_id, "a VPC id such as vpc-bp1abc...")
    if vswitch_id and not (reader.is_opaque(vswitch_id) or _RESOURCE_ID.fullmatch(vswitch_id)):
        reader.fail("networkVswitchId", vswitch_id, "a vSwitch id such as vsw-bp1abc...")
    if zone_id and not reader.is_opaque(zone_id):
        if not _ZONE.fullmatch(zone_id):
            reader.fail("networkZoneId", zone_id, "a zone id such as cn-hangzhou-k")
        elif region and not re.fullmatch(rf"{re.escape(region)}-?[a-z]", zone_id):
            reader.fail(
                "networkZoneId", zone_id, f"a zone of alicloud:region {region}, such as "
                f"{region}-h" + ("" if region.startswith("cn-") else f" or {region}a"),
            )  # fmt: skip
    if bool(vpc_id) != bool(vswitch_id):
        missing = "networkVswitchId" if vpc_id else "networkVpcId"
        given = "networkVpcId" if vpc_id else "networkVswitchId"
        reader.fail(
            missing, "", f"required with {given} {vpc_id or vswitch_id}: the two go together"
        )
    if vpc_id:
        if not vswitch_cidr:
            reader.fail(
                "networkVswitchCidr",
                vswitch_cidr,
                "required with an existing network: the vSwitch's CIDR block",
            )
        if not zone_id:
            reader.fail(
                "networkZoneId", zone_id, "required with an existing network: the vSwitch's zone"
            )
    vpc_net = None if vpc_id else _cidr(reader, "networkVpcCidr", vpc_cidr, 8, 28)
    if vswitch_cidr:
        vswitch_net = _cidr(reader, "networkVswitchCidr", vswitch_cidr, 16, 29)
    elif vpc_id or vpc_net:
        # Derived from a valid VPC block, so valid itself.
        vswitch_net = ipaddress.IPv4Network(_default_vswitch_cidr(vpc_cidr))
    else:
        vswitch_net = None  # the VPC block was refused already
    if vpc_net and vswitch_net and not vswitch_net.subnet_of(vpc_net):
        reader.fail(
            "networkVswitchCidr", str(vswitch_net), f"must lie inside networkVpcCidr {vpc_net}"
        )
    return NetworkSettings(
        vpc_id=vpc_id or None,
        vswitch_id=vswitch_id or None,
        vswitch_cidr=str(vswitch_net) if vswitch_net else "",
        zone_id=zone_id or None,
        vpc_cidr=vpc_cidr,
    )


def _read_nas_volumes(reader: _Reader, value: Any) -> tuple[NasVolumeSettings, ...]:
    if value is None:
        value = [{"name": "shared"}]
    entries = [
        reader.fields(f"nasVolumes[{i}]", item, NAS_FIELDS)
        for i, item in enumerate(_object_list(reader, "nasVolumes", value))
    ]
    default_index = _pick_default(reader, "nasVolumes", entries)
    volumes, names, paths = [], set(), set()
    for i, item in enumerate(entries):
        key = f"nasVolumes[{i}]"
        name = reader.string(
            f"{key}.name",
            item.get("name"),
            _LOGICAL_NAME,
            "2 to 32 lowercase letters, digits and '-', starting with a letter",
        )
        if name and name in names:
            reader.fail(f"{key}.name", name, "each volume name at most once in a stack")
        names.add(name)
        is_default = i == default_index
        if "mountPath" not in item and not name:
            continue  # the name was refused; a path derived from it would only repeat that
        mount_path = item.get("mountPath", "/mnt/data/" if is_default else f"/mnt/{name}/")
        mount_path = reader.string(
            f"{key}.mountPath",
            mount_path,
            re.compile(r"^/mnt/[A-Za-z0-9_./-]{1,200}/$"),
            "an absolute path under /mnt/ ending in '/'",
        )
        if ".." in mount_path.split("/"):
            reader.fail(f"{key}.mountPath", mount_path, "no '..' segments")
        if mount_path and mount_path in paths:
            reader.fail(f"{key}.mountPath", mount_path, "each mount path at most once")
        elif mount_path and any(
            mount_path.startswith(p) or p.startswith(mount_path) for p in paths if p
        ):
            reader.fail(f"{key}.mountPath", mount_path, "no mount path inside another")
        paths.add(mount_path)
        description = item.get("description", f"PAI DSW storage {name}")
        description = reader.string(
            f"{key}.description",
            description,
            re.compile(r"^(?!https?://)[A-Za-z\u4e00-\u9fff][\w:\- \u4e00-\u9fff]{1,127}$"),
            "2 to 128 characters starting with a letter: letters, digits, ':', '_', '-', "
            "spaces; not starting with http:// or https://",
        )
        volumes.append(
            NasVolumeSettings(
                name=name,
                is_default=is_default,
                storage_type=reader.choice(
                    f"{key}.storageType", item.get("storageType", "Capacity"), NAS_STORAGE_TYPES
                ),
                encrypt_type=reader.choice(
                    f"{key}.encryptType", item.get("encryptType", 1), NAS_ENCRYPT_TYPES
                ),
                mount_path=mount_path,
                mount_access=reader.choice(
                    f"{key}.mountAccess", item.get("mountAccess", "RW"), MOUNT_ACCESS
                ),
                description=description,
            )
        )
    return tuple(volumes)


def _read_eas(reader: _Reader, values: Mapping[str, Any], environment: str) -> EasPolicySettings:
    name = values["easPolicyName"] or f"PaiEasServiceLinkedRole-{environment}"
    name = reader.string(
        "easPolicyName", name, _POLICY_NAME, "1 to 128 letters, digits and '-' (no '_' or '.')"
    )
    principal = "a RAM user or group name: letters, digits, '.', '_', '-', '@'; 1 to 128"
    users = reader.string_list(
        "easPolicyUsers",
        values["easPolicyUsers"],
        lambda u: None if _RAM_PRINCIPAL.fullmatch(u) else principal,
    )
    groups = reader.string_list(
        "easPolicyGroups",
        values["easPolicyGroups"],
        lambda g: None if _RAM_PRINCIPAL.fullmatch(g) else principal,
    )
    return EasPolicySettings(
        name=name,
        users=tuple(sorted(users)),
        groups=tuple(sorted(groups)),
        allow_delete=reader.boolean("easPolicyAllowDelete", values["easPolicyAllowDelete"]),
        create_service_linked_role=reader.boolean(
            "easCreateServiceLinkedRole", values["easCreateServiceLinkedRole"]
        ),
    )


def choose_nas_zone(
    zones: Mapping[str, set[tuple[str, str]]], storage_types: set[str], configured: str | None
) -> str:
    """The zone for the DSW network and NAS: one that sells every chosen storage type over NFS.

    ``zones`` maps a zone id to its ``(storage_type, protocol_type)`` pairs, as
    ``nas.get_zones`` lists them.
    """
    wanted = {(t, "NFS") for t in storage_types}
    selling = sorted(
        z for z, kinds in zones.items() if wanted <= {(s, p.upper()) for s, p in kinds}
    )
    types = ", ".join(sorted(storage_types))
    if configured:
        if configured in selling:
            return configured
        raise ConfigError(
            [
                f"networkZoneId = {_show(configured)}: this zone does not sell NAS {types} "
                "over NFS; "
                f"zones that do: {', '.join(selling) or 'none in this region'}"
            ]
        )
    if not selling:
        offer = {z: sorted(k) for z, k in sorted(zones.items())}
        raise ConfigError(
            [
                f"nasVolumes: no zone in this region sells NAS {types} over NFS; "
                f"zones and what they sell: {_show(offer)}"
            ]
        )
    return selling[0]
