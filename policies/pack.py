"""The pack's name and every policy it registers, in the order reviews list them."""

from __future__ import annotations

from policies.rules import nas, oss, pai, ram, stack
from policies.rules.core import KitPolicy

PACK_NAME = "pai-kit"
PACK_VERSION = "0.1.0"

POLICIES: tuple[KitPolicy, ...] = (
    *pai.POLICIES,
    *oss.POLICIES,
    *ram.POLICIES,
    *nas.POLICIES,
    *stack.POLICIES,
)

AREAS: dict[str, str] = {
    **{p.name: "PAI" for p in pai.POLICIES},
    **{p.name: "OSS" for p in oss.POLICIES},
    **{p.name: "RAM" for p in ram.POLICIES},
    **{p.name: "NAS" for p in nas.POLICIES},
    **{p.name: "Stack" for p in stack.POLICIES},
}
