"""The EAS service-linked-role policy: exact document, rotation, attachments by output."""

import json

import pulumi

from components.eas_role_policy import EasRolePolicy
from tests.conftest import settings
from tests.test_documents import REFERENCE_DOCUMENT

POLICY = "alicloud:ram/policy:Policy"
USER_ATTACHMENT = "alicloud:ram/userPolicyAttachment:UserPolicyAttachment"
GROUP_ATTACHMENT = "alicloud:ram/groupPolicyAttachment:GroupPolicyAttachment"
ROLE = "alicloud:resourcemanager/serviceLinkedRole:ServiceLinkedRole"
TAGS = {"environment": "dev", "project": "pai", "cost-owner": "ml"}


def _component(**keys):
    eas = settings(**keys).eas_policy
    return EasRolePolicy("eas", eas, tags=TAGS, protected=False)


@pulumi.runtime.test
def test_policy_is_the_reference_document_with_rotation_and_no_force(mocks):
    component = _component(easPolicyUsers=["alice"])

    def check(_):
        [policy] = mocks.of_type(POLICY)
        assert json.loads(policy.inputs["policyDocument"]) == REFERENCE_DOCUMENT
        assert policy.inputs["policyName"] == "PaiEasServiceLinkedRole-dev"
        assert policy.inputs["rotateStrategy"] == "DeleteOldestNonDefaultVersionWhenLimitExceeded"
        assert "force" not in policy.inputs
        assert "document" not in policy.inputs and "name" not in policy.inputs
        assert mocks.of_type(ROLE) == []

    return component.policy_name.apply(check)


@pulumi.runtime.test
def test_attachments_for_each_user_and_group_name_the_policy_output(mocks):
    component = _component(
        easPolicyName="EasRole", easPolicyUsers=["bob", "alice"], easPolicyGroups=["ml-team"]
    )

    def check(_):
        users = mocks.of_type(USER_ATTACHMENT)
        groups = mocks.of_type(GROUP_ATTACHMENT)
        assert sorted(u.inputs["userName"] for u in users) == ["alice", "bob"]
        assert [g.inputs["groupName"] for g in groups] == ["ml-team"]
        for attachment in users + groups:
            assert attachment.inputs["policyName"] == "EasRole"
            assert attachment.inputs["policyType"] == "Custom"

    return pulumi.Output.all(*[a.urn for a in component.attachments]).apply(check)


@pulumi.runtime.test
def test_allow_delete_and_service_linked_role_options(mocks):
    component = _component(easPolicyAllowDelete=True, easCreateServiceLinkedRole=True)

    def check(_):
        [policy] = mocks.of_type(POLICY)
        document = json.loads(policy.inputs["policyDocument"])
        assert {s["Action"] for s in document["Statement"]} == {
            "ram:CreateServiceLinkedRole",
            "ram:DeleteServiceLinkedRole",
        }
        [role] = mocks.of_type(ROLE)
        assert role.inputs == {"serviceName": "eas.pai.aliyuncs.com"}

    return pulumi.Output.all(component.policy_name, component.service_linked_role.urn).apply(check)
