"""Pulumi mocks that answer the way Alibaba Cloud does, for the offline plan and the tests.

Ids, endpoints and mount target domains follow the shapes the real services return; every
value is derived from the resource's type and name, so a plan is the same on every run.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

import pulumi

GET_ZONES = "alicloud:nas/getZones:getZones"


EVERY_GENERAL_PURPOSE_TYPE = frozenset(
    {(t, "NFS") for t in ("Capacity", "Performance", "Premium")} | {("Capacity", "SMB")}
)


def zone_id(region: str, letter: str) -> str:
    """Zone ids as Alibaba Cloud spells them: cn-hangzhou-h, but ap-southeast-1a."""
    return f"{region}-{letter}" if region.startswith("cn-") else f"{region}{letter}"


def default_zones(region: str, configured: str | None = None) -> dict[str, set[tuple[str, str]]]:
    """What NAS sells, zone by zone, in a typical region (general-purpose, NFS and SMB).

    The real offer varies by region and over time; offline, a configured zone is taken to
    sell every general-purpose type, so an existing network plans as it would in the cloud.
    """
    both = {("Capacity", "NFS"), ("Capacity", "SMB"), ("Performance", "NFS")}
    first, second, third = ("g", "h", "k") if region.startswith("cn-") else ("a", "b", "c")
    zones = {
        zone_id(region, first): set(both),
        zone_id(region, second): both | {("Premium", "NFS")},
        zone_id(region, third): {("Capacity", "NFS"), ("Premium", "NFS")},
    }
    if configured:
        zones[configured] = set(EVERY_GENERAL_PURPOSE_TYPE)
    return zones


def _digest(*parts: str, length: int = 12) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


class AlicloudMocks(pulumi.runtime.Mocks):
    """Answers resource registrations and the invokes the kit makes."""

    def __init__(
        self,
        region: str,
        zones: Mapping[str, set[tuple[str, str]]] | None = None,
        configured_zone: str | None = None,
    ):
        self.region = region
        self.zones = default_zones(region, configured_zone) if zones is None else zones

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        inputs = dict(args.inputs)
        kind = args.typ
        suffix = _digest(self.region, kind, args.name)
        region = self.region
        outputs: dict = {}
        if kind == "alicloud:oss/bucket:Bucket":
            resource_id = inputs["bucket"]
            outputs = {
                "intranetEndpoint": f"oss-{region}-internal.aliyuncs.com",
                "extranetEndpoint": f"oss-{region}.aliyuncs.com",
                "location": f"oss-{region}",
                "owner": "1234567890123456",
                "acl": "private",
            }
        elif kind.startswith("alicloud:oss/"):
            resource_id = inputs.get("bucket", suffix)
        elif kind == "alicloud:ram/policy:Policy":
            resource_id = inputs["policyName"]
            outputs = {"defaultVersion": "v1", "type": "Custom", "attachmentCount": 0}
        elif kind == "alicloud:ram/userPolicyAttachment:UserPolicyAttachment":
            resource_id = f"user:{inputs['policyName']}:Custom:{inputs['userName']}"
        elif kind == "alicloud:ram/groupPolicyAttachment:GroupPolicyAttachment":
            resource_id = f"group:{inputs['policyName']}:Custom:{inputs['groupName']}"
        elif kind == "alicloud:resourcemanager/serviceLinkedRole:ServiceLinkedRole":
            service = inputs["serviceName"]
            resource_id = f"{service}:AliyunServiceRoleForPaiEas"
            outputs = {
                "roleName": "AliyunServiceRoleForPaiEas",
                "arn": "acs:ram::1234567890123456:role/aliyunserviceroleforpaieas",
            }
        elif kind == "alicloud:vpc/network:Network":
            resource_id = f"vpc-{suffix}"
            outputs = {"routerId": f"vrt-{suffix}", "routeTableId": f"vtb-{suffix}"}
        elif kind == "alicloud:vpc/switch:Switch":
            resource_id = f"vsw-{suffix}"
        elif kind == "alicloud:ecs/securityGroup:SecurityGroup":
            resource_id = f"sg-{suffix}"
        elif kind == "alicloud:nas/fileSystem:FileSystem":
            resource_id = suffix[:10]
        elif kind == "alicloud:nas/accessGroup:AccessGroup":
            resource_id = f"{inputs['accessGroupName']}:{inputs.get('fileSystemType', 'standard')}"
        elif kind == "alicloud:nas/accessRule:AccessRule":
            group = inputs["accessGroupName"]
            resource_id = f"{group}:1:{inputs.get('fileSystemType', 'standard')}"
            outputs = {"accessRuleId": "1"}
        elif kind == "alicloud:nas/mountTarget:MountTarget":
            file_system_id = inputs["fileSystemId"]
            domain = f"{file_system_id}-{suffix[:5]}.{region}.nas.aliyuncs.com"
            resource_id = f"{file_system_id}:{domain}"
            outputs = {"mountTargetDomain": domain, "status": "Active"}
        elif kind == "alicloud:pai/workspaceDataset:WorkspaceDataset":
            resource_id = f"d-{suffix}"
            outputs = {"createTime": "2026-01-01T00:00:00Z"}
        else:
            resource_id = f"{args.name}-{suffix}"
        return resource_id, {**inputs, **outputs}

    def call(self, args: pulumi.runtime.MockCallArgs):
        if args.token == GET_ZONES:
            zones = [
                {
                    "zoneId": zone,
                    "instanceTypes": [
                        {"storageType": s, "protocolType": p} for s, p in sorted(kinds)
                    ],
                }
                for zone, kinds in sorted(self.zones.items())
            ]
            return {"id": self.region, "zones": zones}
        return {}
