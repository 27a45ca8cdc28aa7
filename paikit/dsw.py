"""What a DSW instance or an ECS host needs to use the kit's NAS: pure text builders."""

from __future__ import annotations

import json
import shlex
from collections.abc import Sequence
from dataclasses import dataclass

# Options Alibaba Cloud documents for NFSv3 mounts of general-purpose NAS.
NFS_OPTIONS = (
    "vers=3,nolock,proto=tcp,rsize=1048576,wsize=1048576,hard,timeo=600,retrans=2,noresvport"
)


@dataclass(frozen=True)
class MountedVolume:
    """A NAS volume as DSW and ECS hosts see it."""

    name: str
    file_system_id: str
    mount_target_domain: str
    mount_path: str
    mount_access: str
    dataset_id: str | None = None


def nas_uri(file_system_id: str, region: str, path: str = "/") -> str:
    """The NAS URI that PAI datasets and DSW use: ``nas://<id>.<region>/<path>/``."""
    path = "/" + path.strip("/") + "/" if path.strip("/") else "/"
    return f"nas://{file_system_id}.{region}{path}"


def create_instance_fragment(
    *,
    vpc_id: str,
    vswitch_id: str,
    security_group_id: str,
    region: str,
    volumes: Sequence[MountedVolume],
) -> str:
    """The ``UserVpc`` and ``Datasets`` parts of DSW's CreateInstance request, as JSON."""
    datasets = []
    for volume in volumes:
        entry = (
            {"DatasetId": volume.dataset_id}
            if volume.dataset_id
            else {"Uri": nas_uri(volume.file_system_id, region)}
        )
        entry.update({"MountPath": volume.mount_path, "MountAccess": volume.mount_access})
        datasets.append(entry)
    fragment = {
        "UserVpc": {
            "VpcId": vpc_id,
            "VSwitchId": vswitch_id,
            "SecurityGroupId": security_group_id,
        },
        "Datasets": datasets,
    }
    return json.dumps(fragment, indent=2, sort_keys=True)


def mount_script(volumes: Sequence[MountedVolume], *, stack: str) -> str:
    """A bash script for an ECS host in the DSW VPC: install an NFS client, then mount.

    ``mount -t nfs`` on a host without the client fails with "wrong fs type, bad option, bad
    superblock", so the script installs ``nfs-utils`` or ``nfs-common`` first.
    """
    lines = [
        "#!/usr/bin/env bash",
        f"# Mount the NAS volumes of PAI kit stack {stack} on an ECS host in the DSW VPC.",
        "set -euo pipefail",
        "if ! command -v mount.nfs >/dev/null 2>&1; then",
        "  if command -v dnf >/dev/null 2>&1; then dnf install -y nfs-utils",
        "  elif command -v yum >/dev/null 2>&1; then yum install -y nfs-utils",
        "  elif command -v apt-get >/dev/null 2>&1; then",
        "    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y nfs-common",
        "  elif command -v zypper >/dev/null 2>&1; then",
        "    zypper --non-interactive install nfs-client",
        '  else echo "no known package manager: install an NFS client first" >&2; exit 1',
        "  fi",
        "fi",
    ]
    for volume in volumes:
        path = shlex.quote(volume.mount_path)
        source = shlex.quote(f"{volume.mount_target_domain}:/")
        options = NFS_OPTIONS + (",ro" if volume.mount_access == "RO" else "")
        lines += [
            f"mkdir -p {path}",
            f"if ! mountpoint -q {path}; then",
            f"  mount -t nfs -o {options} {source} {path}",
            "fi",
        ]
    return "\n".join(lines) + "\n"
