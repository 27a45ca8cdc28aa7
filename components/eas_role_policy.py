"""RAM access for creating the EAS service-linked role, scoped to that one service."""

from __future__ import annotations

import pulumi
import pulumi_alicloud.ram as ram
from pulumi_alicloud.resourcemanager.service_linked_role import (  # not all of it
    ServiceLinkedRole,
)

from paikit.config import EasPolicySettings
from paikit.documents import (
    EAS_ROLE_NAME,
    ROTATE_STRATEGY,
    canonical_json,
    service_linked_role_document,
)


class EasRolePolicy(pulumi.ComponentResource):
    """The custom policy that lets chosen RAM users create ``AliyunServiceRoleForPaiEas``.

    Creates the policy, one attachment per configured user and group, and optionally the
    service-linked role itself.
    """

    policy: ram.Policy
    service_linked_role: ServiceLinkedRole | None

    def __init__(
        self,
        name: str,
        settings: EasPolicySettings,
        *,
        tags: dict[str, str],
        protected: bool,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("paikit:access:EasRolePolicy", name, None, opts)

        document = service_linked_role_document(
            settings.service_name, allow_delete=settings.allow_delete
        )
        # A custom policy keeps five versions; without a rotate strategy the sixth document
        # change fails. No force: it has left orphaned policies when attachments go in the
        # same run, and attachments here are explicit resources anyway.
        self.policy = ram.Policy(
            f"{name}-policy",
            policy_name=settings.name,
            policy_document=canonical_json(document),
            description=f"Lets RAM users create the {EAS_ROLE_NAME} service-linked role.",
            rotate_strategy=ROTATE_STRATEGY,
            tags=dict(tags),
            opts=pulumi.ResourceOptions(parent=self),
        )

        # Attachments name the policy through its output, so they wait for it and follow
        # a rename.
        self.attachments: list[pulumi.CustomResource] = []
        for user in settings.users:
            attachment = ram.UserPolicyAttachment(
                f"{name}-user-{user}",
                user_name=user,
                policy_name=self.policy.policy_name,
                policy_type="Custom",
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.attachments.append(attachment)
        for group in settings.groups:
            attachment = ram.GroupPolicyAttachment(
                f"{name}-group-{group}",
                group_name=group,
                policy_name=self.policy.policy_name,
                policy_type="Custom",
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.attachments.append(attachment)

        # Creating the role fails when it already exists (import it instead), and destroying
        # it deletes the role for every EAS user of the account: protected environments keep it.
        self.service_linked_role = None
        if settings.create_service_linked_role:
            self.service_linked_role = ServiceLinkedRole(
                f"{name}-service-linked-role",
                service_name=settings.service_name,
                opts=pulumi.ResourceOptions(
                    parent=self, protect=protected, retain_on_delete=protected
                ),
            )

        self.policy_name = self.policy.policy_name
        self.register_outputs({"policy_name": self.policy_name})
