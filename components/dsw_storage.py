"""NAS storage for PAI-DSW: network, access control, file systems and mount targets."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pulumi
import pulumi_alicloud.nas as nas
import pulumi_alicloud.pai as pai
import pulumi_alicloud.vpc as vpc
from pulumi_alicloud.ecs.security_group import SecurityGroup  # not all of ECS

from paikit import dsw
from paikit.config import NasVolumeSettings, NetworkSettings

FILE_SYSTEM_TYPE = "standard"


class NasVolume(pulumi.ComponentResource):
    """One general-purpose NFS file system with its mount target in the DSW vSwitch.

    Creates the file system, the mount target and, when a PAI workspace is given, a PAI
    dataset for the file system's root directory.
    """

    def __init__(
        self,
        name: str,
        settings: NasVolumeSettings,
        *,
        zone_id: str,
        region: str,
        vpc_id: pulumi.Input[str],
        vswitch_id: pulumi.Input[str],
        access_group_name: pulumi.Input[str],
        workspace_id: str | None,
        dataset_name: str,
        tags: dict[str, str],
        protected: bool,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("paikit:dsw:NasVolume", name, None, opts)

        # vpc_id and vswitch_id on a file system are for CPFS only: on general-purpose file
        # systems they cause a permanent diff, so the network goes on the mount target.
        self.file_system = nas.FileSystem(
            f"{name}-fs",
            protocol_type="NFS",
            file_system_type=FILE_SYSTEM_TYPE,
            storage_type=settings.storage_type,
            zone_id=zone_id,
            encrypt_type=settings.encrypt_type,
            description=settings.description,
            tags=dict(tags),
            opts=pulumi.ResourceOptions(parent=self, protect=protected, retain_on_delete=protected),
        )

        # Never the built-in DEFAULT_VPC_GROUP_NAME: it lets the whole VPC read and write.
        self.mount_target = nas.MountTarget(
            f"{name}-mount-target",
            file_system_id=self.file_system.id,
            access_group_name=access_group_name,
            network_type="Vpc",
            vpc_id=vpc_id,
            vswitch_id=vswitch_id,
            opts=pulumi.ResourceOptions(parent=self),
        )

        self.dataset = None
        if workspace_id:
            self.dataset = pai.WorkspaceDataset(
                f"{name}-dataset",
                workspace_id=workspace_id,
                dataset_name=dataset_name,
                data_source_type="NAS",
                property="DIRECTORY",
                uri=self.file_system.id.apply(lambda fs_id: dsw.nas_uri(fs_id, region)),
                options=json.dumps({"mountPath": settings.mount_path}, sort_keys=True),
                description=settings.description,
                opts=pulumi.ResourceOptions(parent=self),
            )

        self.settings = settings
        self.file_system_id = self.file_system.id
        self.mount_target_domain = self.mount_target.mount_target_domain
        self.dataset_id = self.dataset.id if self.dataset else None
        self.register_outputs(
            {
                "file_system_id": self.file_system_id,
                "mount_target_domain": self.mount_target_domain,
            }
        )

    def mounted(self) -> pulumi.Output[dsw.MountedVolume]:
        return pulumi.Output.all(
            self.file_system_id,
            self.mount_target_domain,
            self.dataset_id,
        ).apply(
            lambda values: dsw.MountedVolume(
                name=self.settings.name,
                file_system_id=values[0],
                mount_target_domain=values[1],
                mount_path=self.settings.mount_path,
                mount_access=self.settings.mount_access,
                dataset_id=values[2],
            )
        )


class DswStorage(pulumi.ComponentResource):
    """Everything a DSW instance needs to mount the kit's NAS.

    Creates the DSW network when none is configured (VPC and vSwitch in a zone that sells the
    chosen NAS storage), a security group for DSW instances, the kit's NAS access group with
    one rule for the DSW vSwitch, and one :class:`NasVolume` per configured volume.
    """

    def __init__(
        self,
        name: str,
        *,
        network: NetworkSettings,
        volumes: Sequence[NasVolumeSettings],
        zone_id: str,
        region: str,
        access_group_name: str,
        workspace_id: str | None,
        stack: str,
        tags: dict[str, str],
        protected: bool,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("paikit:dsw:DswStorage", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        if network.create:
            created_vpc = vpc.Network(
                f"{name}-vpc",
                vpc_name=f"{access_group_name}-vpc",
                cidr_block=network.vpc_cidr,
                description="DSW network of the PAI kit",
                tags=dict(tags),
                opts=child,
            )
            created_vswitch = vpc.Switch(
                f"{name}-vswitch",
                vswitch_name=f"{access_group_name}-vswitch",
                vpc_id=created_vpc.id,
                cidr_block=network.vswitch_cidr,
                zone_id=zone_id,
                description="DSW vSwitch of the PAI kit",
                tags=dict(tags),
                opts=child,
            )
            vpc_id, vswitch_id = created_vpc.id, created_vswitch.id
        else:
            vpc_id = pulumi.Output.from_input(network.vpc_id)
            vswitch_id = pulumi.Output.from_input(network.vswitch_id)

        self.security_group = SecurityGroup(
            f"{name}-security-group",
            security_group_name=f"{access_group_name}-instances",
            description="DSW instances of the PAI kit",
            vpc_id=vpc_id,
            tags=dict(tags),
            opts=child,
        )

        self.access_group = nas.AccessGroup(
            f"{name}-access-group",
            access_group_name=access_group_name,
            access_group_type="Vpc",
            file_system_type=FILE_SYSTEM_TYPE,
            description="DSW vSwitch of the PAI kit",
            opts=child,
        )
        # Only the DSW vSwitch may mount, never 0.0.0.0/0. The rule's file system type must
        # match the group's.
        self.access_rule = nas.AccessRule(
            f"{name}-access-rule",
            access_group_name=self.access_group.access_group_name,
            source_cidr_ip=network.vswitch_cidr,
            rw_access_type="RDWR",
            user_access_type="no_squash",
            priority=1,
            file_system_type=FILE_SYSTEM_TYPE,
            opts=child,
        )

        self.volumes = [
            NasVolume(
                f"{name}-{volume.name}",
                volume,
                zone_id=zone_id,
                region=region,
                vpc_id=vpc_id,
                vswitch_id=vswitch_id,
                access_group_name=self.access_group.access_group_name,
                workspace_id=workspace_id,
                dataset_name=f"{access_group_name}-{volume.name}",
                tags=tags,
                protected=protected,
                opts=child,
            )
            for volume in volumes
        ]

        self.vpc_id = vpc_id
        self.vswitch_id = vswitch_id
        self.security_group_id = self.security_group.id
        mounted = pulumi.Output.all(*[v.mounted() for v in self.volumes])
        self.instance_fragment = pulumi.Output.all(
            vpc_id, vswitch_id, self.security_group_id, mounted
        ).apply(
            lambda v: dsw.create_instance_fragment(
                vpc_id=v[0], vswitch_id=v[1], security_group_id=v[2], region=region, volumes=v[3]
            )
        )
        self.mount_script = mounted.apply(lambda v: dsw.mount_script(v, stack=stack))
        self.register_outputs(
            {
                "vpc_id": self.vpc_id,
                "vswitch_id": self.vswitch_id,
                "security_group_id": self.security_group_id,
                "instance_fragment": self.instance_fragment,
            }
        )
