"""Pulumi mocks for the unit tests, and helpers that build settings from raw config."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pytest
from pulumi.runtime import settings as runtime_settings

from paikit import config
from paikit.mocks import AlicloudMocks

REGION = "cn-hangzhou"


@dataclass
class Registration:
    type: str
    name: str
    inputs: dict[str, Any]


@dataclass
class RecordingMocks(AlicloudMocks):
    """Alibaba-shaped answers (camelCase, as the engine speaks), keeping every registration."""

    region: str = REGION
    zones: Any = None
    registrations: list[Registration] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(self.region, self.zones)

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        self.registrations.append(Registration(args.typ, args.name, dict(args.inputs)))
        return super().new_resource(args)

    def of_type(self, token: str) -> list[Registration]:
        return [r for r in self.registrations if r.type == token]


def install_mocks(mocks: RecordingMocks, stack: str = "test") -> RecordingMocks:
    runtime_settings.ROOT.set(None)
    pulumi.runtime.set_all_config({}, [])
    pulumi.runtime.set_mocks(mocks, project=config.PROJECT, stack=stack, preview=False)
    return mocks


@pytest.fixture(autouse=True)
def mocks() -> RecordingMocks:
    """Fresh mocks for every test, so no registration leaks between tests."""
    return install_mocks(RecordingMocks())


def raw(region: str = REGION, **keys: Any) -> dict[str, str]:
    """A raw config map as the engine passes it: ``pai-kit:key`` to a string or JSON."""
    values = {config.REGION_KEY: region}
    for key, value in keys.items():
        text = value if isinstance(value, str) else json.dumps(value)
        values[f"{config.PROJECT}:{key}"] = text
    return values


def settings(stack: str = "dev", region: str = REGION, **keys: Any) -> config.Settings:
    return config.load(raw(region, **keys), stack)
