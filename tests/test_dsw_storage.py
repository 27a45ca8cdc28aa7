"""DSW NAS storage: file systems, access control, mount targets, datasets and what users get."""

import json
import os
import stat
import subprocess

import pulumi
import pytest

from components.dsw_storage import DswStorage
from paikit import dsw
from tests.conftest import settings

FILE_SYSTEM = "alicloud:nas/fileSystem:FileSystem"
ACCESS_GROUP = "alicloud:nas/accessGroup:AccessGroup"
ACCESS_RULE = "alicloud:nas/accessRule:AccessRule"
MOUNT_TARGET = "alicloud:nas/mountTarget:MountTarget"
DATASET = "alicloud:pai/workspaceDataset:WorkspaceDataset"
TAGS = {"environment": "dev", "project": "pai", "cost-owner": "ml"}


def _storage(zone="cn-hangzhou-g", **keys):
    s = settings(**keys)
    return DswStorage(
        "dsw",
        network=s.network,
        volumes=s.nas_volumes,
        zone_id=zone,
        region=s.region,
        access_group_name="pai-dev-dsw",
        workspace_id=s.pai_workspace_id,
        stack="dev",
        tags=TAGS,
        protected=s.protected,
    )


@pulumi.runtime.test
def test_created_network_file_system_access_and_mount_target(mocks):
    storage = _storage(nasVolumes=[{"name": "shared", "storageType": "Premium"}])

    def check(_):
        [vpc] = mocks.of_type("alicloud:vpc/network:Network")
        [vswitch] = mocks.of_type("alicloud:vpc/switch:Switch")
        assert vpc.inputs["cidrBlock"] == "10.42.0.0/16"
        assert vswitch.inputs["cidrBlock"] == "10.42.1.0/24"
        assert vswitch.inputs["zoneId"] == "cn-hangzhou-g"
        [fs] = mocks.of_type(FILE_SYSTEM)
        assert fs.inputs == {
            "protocolType": "NFS",
            "fileSystemType": "standard",
            "storageType": "Premium",
            "zoneId": "cn-hangzhou-g",
            "encryptType": 1,
            "description": "PAI DSW storage shared",
            "tags": TAGS,
        }
        [group] = mocks.of_type(ACCESS_GROUP)
        assert group.inputs["accessGroupName"] == "pai-dev-dsw"
        assert group.inputs["accessGroupType"] == "Vpc"
        [rule] = mocks.of_type(ACCESS_RULE)
        assert rule.inputs["sourceCidrIp"] == "10.42.1.0/24"
        assert rule.inputs["fileSystemType"] == group.inputs["fileSystemType"] == "standard"
        assert rule.inputs["priority"] == 1
        [target] = mocks.of_type(MOUNT_TARGET)
        assert target.inputs["accessGroupName"] == "pai-dev-dsw"
        assert target.inputs["vswitchId"].startswith("vsw-")
        assert target.inputs["networkType"] == "Vpc"
        assert mocks.of_type(DATASET) == []

    return pulumi.Output.all(
        storage.instance_fragment, storage.mount_script, storage.access_rule.urn
    ).apply(check)


@pulumi.runtime.test
def test_existing_network_is_used_as_given(mocks):
    storage = _storage(
        zone="cn-hangzhou-h",
        networkVpcId="vpc-bp1existing01",
        networkVswitchId="vsw-bp1existing01",
        networkVswitchCidr="172.16.3.0/24",
        networkZoneId="cn-hangzhou-h",
    )

    def check(values):
        vpc_id, vswitch_id = values[:2]
        assert (vpc_id, vswitch_id) == ("vpc-bp1existing01", "vsw-bp1existing01")
        assert mocks.of_type("alicloud:vpc/network:Network") == []
        [rule] = mocks.of_type(ACCESS_RULE)
        assert rule.inputs["sourceCidrIp"] == "172.16.3.0/24"
        [target] = mocks.of_type(MOUNT_TARGET)
        assert target.inputs["vpcId"] == "vpc-bp1existing01"
        assert target.inputs["vswitchId"] == "vsw-bp1existing01"
        [group] = mocks.of_type("alicloud:ecs/securityGroup:SecurityGroup")
        assert group.inputs["vpcId"] == "vpc-bp1existing01"

    return pulumi.Output.all(
        storage.vpc_id, storage.vswitch_id, storage.instance_fragment, storage.access_rule.urn
    ).apply(check)


@pulumi.runtime.test
def test_workspace_registers_each_volume_as_a_nas_dataset(mocks):
    storage = _storage(
        paiWorkspaceId="12345",
        nasVolumes=[{"name": "shared"}, {"name": "vision", "mountAccess": "RO"}],
    )

    def check(fragment):
        datasets = sorted(mocks.of_type(DATASET), key=lambda d: d.inputs["datasetName"])
        assert [d.inputs["datasetName"] for d in datasets] == [
            "pai-dev-dsw-shared",
            "pai-dev-dsw-vision",
        ]
        file_systems = {f.name: f for f in mocks.of_type(FILE_SYSTEM)}
        for dataset in datasets:
            assert dataset.inputs["workspaceId"] == "12345"
            assert dataset.inputs["dataSourceType"] == "NAS"
            assert dataset.inputs["property"] == "DIRECTORY"
            assert dataset.inputs["uri"].startswith("nas://")
            assert dataset.inputs["uri"].endswith(".cn-hangzhou/")
        assert len(file_systems) == 2
        options = json.loads(datasets[1].inputs["options"])
        assert options == {"mountPath": "/mnt/vision/"}
        parsed = json.loads(fragment)
        assert [d["MountPath"] for d in parsed["Datasets"]] == ["/mnt/data/", "/mnt/vision/"]
        assert [d["MountAccess"] for d in parsed["Datasets"]] == ["RW", "RO"]
        assert all(d["DatasetId"].startswith("d-") for d in parsed["Datasets"])

    return storage.instance_fragment.apply(check)


@pulumi.runtime.test
def test_instance_fragment_names_the_dsw_network_and_nas_uri(mocks):
    storage = _storage()

    def check(values):
        fragment, vpc_id, vswitch_id, group_id, fs_id = values
        parsed = json.loads(fragment)
        assert parsed == {
            "UserVpc": {"VpcId": vpc_id, "VSwitchId": vswitch_id, "SecurityGroupId": group_id},
            "Datasets": [
                {
                    "Uri": f"nas://{fs_id}.cn-hangzhou/",
                    "MountPath": "/mnt/data/",
                    "MountAccess": "RW",
                }
            ],
        }

    return pulumi.Output.all(
        storage.instance_fragment,
        storage.vpc_id,
        storage.vswitch_id,
        storage.security_group_id,
        storage.volumes[0].file_system_id,
    ).apply(check)


def test_nas_uri_shapes():
    assert dsw.nas_uri("31a8e4", "cn-hangzhou") == "nas://31a8e4.cn-hangzhou/"
    assert dsw.nas_uri("31a8e4", "cn-hangzhou", "team/a") == "nas://31a8e4.cn-hangzhou/team/a/"


VOLUMES = [
    dsw.MountedVolume("shared", "31a8e4", "31a8e4-abc.cn-hangzhou.nas.aliyuncs.com",
                      "/mnt/data/", "RW"),
    dsw.MountedVolume("vision", "41b9f5", "41b9f5-def.cn-hangzhou.nas.aliyuncs.com",
                      "/mnt/vision/", "RO"),
]  # fmt: skip


def _run_script(tmp_path, present: list[str]) -> list[str]:
    """Run the mount script with every command it calls replaced by a recorder."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls.log"
    for command in ["dnf", "yum", "apt-get", "zypper", "mount", "mountpoint", "mkdir",
                    "mount.nfs"]:  # fmt: skip
        if command in present or command in ("mount", "mkdir"):
            path = bin_dir / command
            exit_code = 1 if command == "mountpoint" else 0
            path.write_text(f'#!/bin/sh\necho "{command} $*" >> "{log}"\nexit {exit_code}\n')
            path.chmod(path.stat().st_mode | stat.S_IEXEC)
    script = tmp_path / "mount.sh"
    script.write_text(dsw.mount_script(VOLUMES, stack="dev"))
    env = {"PATH": f"{bin_dir}", "HOME": str(tmp_path)}
    bash = "/bin/bash" if os.path.exists("/bin/bash") else "bash"
    result = subprocess.run([bash, str(script)], env=env, capture_output=True, text=True,
                            timeout=30, check=False)  # fmt: skip
    calls = log.read_text().splitlines() if log.exists() else []
    return [result.returncode, calls, result.stderr]


@pytest.mark.parametrize(
    ("manager", "install"),
    [("yum", "yum install -y nfs-utils"), ("apt-get", "apt-get install -y nfs-common")],
)
def test_mount_script_installs_the_nfs_client_before_mounting(tmp_path, manager, install):
    code, calls, stderr = _run_script(tmp_path, present=[manager, "mountpoint"])
    assert code == 0, stderr
    first_mount = next(i for i, c in enumerate(calls) if c.startswith("mount "))
    install_at = next(i for i, c in enumerate(calls) if c.startswith(install))
    assert install_at < first_mount
    mounts = [c for c in calls if c.startswith("mount ")]
    assert mounts == [
        f"mount -t nfs -o {dsw.NFS_OPTIONS} 31a8e4-abc.cn-hangzhou.nas.aliyuncs.com:/ /mnt/data/",
        f"mount -t nfs -o {dsw.NFS_OPTIONS},ro 41b9f5-def.cn-hangzhou.nas.aliyuncs.com:/ "
        "/mnt/vision/",
    ]


def test_mount_script_skips_the_install_when_the_client_is_there(tmp_path):
    code, calls, stderr = _run_script(tmp_path, present=["mount.nfs", "yum", "mountpoint"])
    assert code == 0, stderr
    assert not any(c.startswith("yum") for c in calls)
    assert sum(c.startswith("mount ") for c in calls) == 2


def test_mount_script_stops_before_mounting_without_a_package_manager(tmp_path):
    code, calls, stderr = _run_script(tmp_path, present=["mountpoint"])
    assert code == 1
    assert "install an NFS client first" in stderr
    assert not any(c.startswith("mount ") for c in calls)
