"""PAI kit: what Alibaba Cloud PAI needs from OSS, RAM and NAS, for one environment."""

from components.data_bucket import DataBucket
from components.dsw_storage import DswStorage
from components.eas_role_policy import EasRolePolicy
from paikit.runtime import read_settings, resolve_zone, secret_aware_export

# Every key is read and checked, and the NAS zone is chosen, before any resource exists.
settings = read_settings()
zone_id = resolve_zone(settings)
export = secret_aware_export()
tags = dict(settings.tags)
prefix = f"{settings.project}-{settings.environment}"

buckets = {
    bucket.name: DataBucket(
        bucket.name,
        bucket,
        tags=tags,
        protected=settings.protected,
        access_log_bucket=settings.access_log_bucket,
    )
    for bucket in settings.buckets
}

eas = EasRolePolicy("eas-role-policy", settings.eas_policy, tags=tags, protected=settings.protected)

dsw = DswStorage(
    "dsw",
    network=settings.network,
    volumes=settings.nas_volumes,
    zone_id=zone_id,
    region=settings.region,
    access_group_name=f"{prefix}-dsw",
    workspace_id=settings.pai_workspace_id,
    stack=settings.stack,
    tags=tags,
    protected=settings.protected,
)
default_volume = next(v for v in dsw.volumes if v.settings.is_default)

export("region", settings.region)
export("environment", settings.environment)
export("protected", settings.protected)
export("dataBucket", buckets[settings.default_bucket.name].bucket_name)
export(
    "buckets",
    {
        name: {
            "bucket": b.bucket_name,
            "intranetEndpoint": b.intranet_endpoint,
            "extranetEndpoint": b.extranet_endpoint,
        }
        for name, b in buckets.items()
    },
)
export("easPolicyName", eas.policy_name)
export("dswZoneId", zone_id)
export("dswVpcId", dsw.vpc_id)
export("dswVswitchId", dsw.vswitch_id)
export("dswSecurityGroupId", dsw.security_group_id)
export("nasMountTargetDomain", default_volume.mount_target_domain)
export(
    "nasVolumes",
    {
        v.settings.name: {
            "fileSystemId": v.file_system_id,
            "mountTargetDomain": v.mount_target_domain,
            "mountPath": v.settings.mount_path,
            "datasetId": v.dataset_id,
        }
        for v in dsw.volumes
    },
)
export("dswCreateInstanceFragment", dsw.instance_fragment)
export("nasMountScript", dsw.mount_script)
