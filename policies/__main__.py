"""The kit's policy pack, as ``pulumi preview --policy-pack policies`` starts it.

The CLI runs this file with ``policies/`` itself on ``sys.path``. The rules import their own
package as ``policies`` and the kit's pure modules ``paikit.cors`` and ``paikit.documents``, so
the repository root goes on the path first; nothing else from the repository is loaded.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pulumi_policy import EnforcementLevel, PolicyPack

from policies.pack import PACK_NAME, POLICIES

PolicyPack(
    name=PACK_NAME,
    enforcement_level=EnforcementLevel.ADVISORY,
    policies=list(POLICIES),
)
