"""The bridge between the Pulumi runtime and the kit's pure configuration module."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pulumi
import pulumi_alicloud.nas as nas
from pulumi.runtime import config as runtime_config

from paikit import config
from paikit.config import ConfigError, Settings


def raw_config() -> tuple[dict[str, object], frozenset[str]]:
    """Every config value the engine gave this program, and which keys are secret."""
    values = dict(runtime_config.get_config_env())
    values.update(runtime_config.CONFIG.get())
    secret = set(runtime_config.get_config_secret_keys_env())
    secret.update(runtime_config._SECRET_KEYS.get())
    return values, frozenset(secret)


def read_settings() -> Settings:
    """Validated settings of the current stack; a clean error, with no traceback, if not."""
    values, secret_keys = raw_config()
    try:
        return config.load(values, pulumi.get_stack(), secret_keys)
    except ConfigError as err:
        raise pulumi.RunError(str(err)) from None


def resolve_zone(settings: Settings) -> str:
    """The zone of the DSW network, checked against what NAS sells in the region."""
    result = nas.get_zones(file_system_type="standard")
    zones: dict[str, set[tuple[str, str]]] = {}
    for zone in result.zones or []:
        kinds = {(t.storage_type, t.protocol_type) for t in zone.instance_types or []}
        zones.setdefault(zone.zone_id, set()).update(kinds)
    storage_types = {v.storage_type for v in settings.nas_volumes}
    try:
        return config.choose_nas_zone(zones, storage_types, settings.network.zone_id)
    except ConfigError as err:
        values, secret_keys = raw_config()
        message = config.redact(str(err), config.secret_texts(values, secret_keys))
        raise pulumi.RunError(message) from None


def secret_aware_export() -> Callable[[str, Any], None]:
    """``pulumi.export``, but a value that shows the text of a secret config value is exported
    as a secret, so neither the state nor ``pulumi stack output`` holds it in plain text.

    The program reads config as plain values, so secretness is traced by text: an output that
    contains a secret value, or a string inside a structured one, is sealed. The secrets are
    read once, when the program asks for the exporter.
    """
    values, secret_keys = raw_config()
    secrets = config.secret_texts(values, secret_keys)

    def export(name: str, value: Any) -> None:
        pulumi.export(name, keep_secret(value, secrets))

    return export


def keep_secret(value: Any, secrets: frozenset[str]) -> Any:
    """``value`` as an output that is secret when its resolved form mentions one of ``secrets``."""
    if not secrets:
        return value

    def seal(resolved: Any) -> Any:
        if config.mentions_secret(resolved, secrets):
            return pulumi.Output.secret(resolved)
        return resolved

    return pulumi.Output.from_input(value).apply(seal)
