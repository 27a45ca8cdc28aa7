"""The offline review: pack config as the CLI resolves it, every committed stack, a broken
stack, and what `kit plan` prints, writes and exits with."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pulumi_policy import EnforcementLevel
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

from paikit import plan as kit_plan
from paikit.plan import ROOT, available_stacks, run_program
from policies import review
from policies.pack import POLICIES
from policies.rules.core import BUCKET_ACL

STACKS = available_stacks()

BROKEN_STACK = """\
# Accepted by the kit's config validation; each line below breaks a policy.
config:
  alicloud:region: cn-hangzhou
  pai-kit:environment: prod
  pai-kit:protectedEnvironments: []
  pai-kit:buckets:
    - name: acme-pai-broken-data
      customCorsRules:
        - allowedOrigins: ["https://labeling.example.com"]
          allowedMethods: [GET]
  pai-kit:easPolicyUsers:
    - alice
"""
BROKEN_PACK_CONFIG = {"pai-data-same-region": {"paiRegion": "cn-shanghai"}}
BUCKET_NAME = "acme-pai-broken-data-bucket"
BROKEN_FINDINGS = {
    ("oss-cors-origin-allowlist", "mandatory", "acme-pai-broken-data-cors"),
    ("pai-data-same-region", "mandatory", BUCKET_NAME),
    ("pai-data-same-region", "mandatory", "dsw-shared-fs"),
    ("oss-bucket-versioning", "mandatory", BUCKET_NAME),
    ("data-protected-from-deletion", "mandatory", BUCKET_NAME),
    ("data-protected-from-deletion", "mandatory", "dsw-shared-fs"),
    ("oss-bucket-access-logging", "advisory", BUCKET_NAME),
    ("oss-bucket-https-only", "advisory", BUCKET_NAME),
    ("ram-attach-to-groups", "advisory", "eas-role-policy-user-alice"),
}


@pytest.fixture(scope="module")
def verdicts():
    found = {}
    for stack in STACKS:
        plan = run_program(stack)
        found[stack] = review.evaluate(
            plan.resources,
            stack=stack,
            project=plan.project,
            region=plan.config["alicloud:region"],
        )
    return found


@pytest.fixture
def broken_stack(tmp_path) -> Path:
    path = tmp_path / "Pulumi.broken.yaml"
    path.write_text(BROKEN_STACK, encoding="utf-8")
    return path


def _summary(verdict: review.Review) -> set[tuple[str, str, str]]:
    return {(f.policy, f.level, f.resource_name) for f in verdict.findings}


# --- committed and broken stacks --------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_committed_stacks_have_no_mandatory_violation(verdicts, stack):
    verdict = verdicts[stack]
    assert verdict.mandatory == [], review.render_text(verdict)
    assert verdict.undecided == []
    assert not verdict.blocked


def test_the_broken_stack_reports_exactly_what_it_breaks(broken_stack):
    plan = run_program("broken", stack_file=broken_stack)
    verdict = review.evaluate(
        plan.resources,
        stack="broken",
        project=plan.project,
        region=plan.config["alicloud:region"],
        config=BROKEN_PACK_CONFIG,
    )
    assert _summary(verdict) == BROKEN_FINDINGS
    assert verdict.blocked


# --- pack config --------------------------------------------------------------------------------


def test_the_all_key_and_per_policy_levels_apply_as_in_the_cli():
    settings = review.resolve_config(
        {
            "all": "advisory",
            "oss-bucket-acl-private": "mandatory",
            "ram-attach-to-groups": {"enforcementLevel": "disabled"},
            "oss-bucket-versioning": {"protectedEnvironments": ["prod", "staging"]},
        }
    )
    assert settings["oss-bucket-acl-private"].level == EnforcementLevel.MANDATORY
    assert settings["ram-attach-to-groups"].level == EnforcementLevel.DISABLED
    assert settings["nas-encryption-at-rest"].level == EnforcementLevel.ADVISORY
    assert settings["oss-bucket-versioning"].properties == {
        "protectedEnvironments": ["prod", "staging"]
    }
    assert settings["oss-bucket-versioning"].level == EnforcementLevel.ADVISORY


@pytest.mark.parametrize(
    ("config", "problem"),
    [
        ({"oss-bucket-acl": "mandatory"}, "did you mean 'oss-bucket-acl-private'"),
        ({"oss-bucket-acl-private": "blocking"}, "enforcementLevel must be one of"),
        ({"oss-bucket-acl-private": ["mandatory"]}, "an enforcement level or an object"),
        ({"all": {"allowedOrigins": []}}, "takes only an enforcement level"),
        ({"oss-bucket-versioning": {"protectedEnvironments": "prod"}}, "must be of type array"),
        ({"oss-bucket-versioning": {"protected": ["prod"]}}, "unknown; known: protected"),
        (
            {"pai-cors-consumer-coverage": {"bucketConsumers": {"data": ["itag", "ocr"]}}},
            "bucketConsumers.data[1]: must be one of itag, studio-preview",
        ),
    ],
)
def test_config_the_cli_would_refuse_is_refused(config, problem):
    with pytest.raises(review.PackConfigError) as caught:
        review.resolve_config(config)
    assert problem in str(caught.value)


def test_a_disabled_policy_does_not_run_and_remediate_reports_as_mandatory():
    acl = kit_plan.PlannedResource(
        urn="urn:pulumi:t::pai-kit::x::acl",
        type=BUCKET_ACL,
        name="acl",
        parent="",
        custom=True,
        inputs={"bucket": "b", "acl": "public-read"},
    )
    quiet = review.evaluate(
        [acl],
        stack="t",
        project="pai-kit",
        region="cn-hangzhou",
        config={"oss-bucket-acl-private": "disabled"},
    )
    assert quiet.findings == []
    loud = review.evaluate(
        [acl],
        stack="t",
        project="pai-kit",
        region="cn-hangzhou",
        config={"oss-bucket-acl-private": "remediate"},
    )
    assert [f.level for f in loud.findings] == ["mandatory"]


def test_pack_config_files_are_json(tmp_path):
    path = tmp_path / "policy.json"
    path.write_text("", encoding="utf-8")
    assert review.load_pack_config(path) == {}
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(review.PackConfigError, match="not valid JSON"):
        review.load_pack_config(path)
    path.write_text("[]", encoding="utf-8")
    with pytest.raises(review.PackConfigError, match="JSON object"):
        review.load_pack_config(path)


# --- rendering ----------------------------------------------------------------------------------


def _undecided_review() -> review.Review:
    resources = [
        kit_plan.PlannedResource(
            urn="urn:pulumi:t::pai-kit::alicloud:oss/bucketAcl:BucketAcl::data|acl",
            type=BUCKET_ACL,
            name="data|acl",
            parent="",
            custom=True,
            inputs={"bucket": "data", "acl": UNKNOWN_STRING_VALUE},
        )
    ]
    return review.evaluate(resources, stack="t", project="pai-kit", region="cn-hangzhou")


def test_undecided_findings_are_listed_but_do_not_block():
    verdict = _undecided_review()
    assert [f.policy for f in verdict.undecided] == ["oss-bucket-acl-private"]
    assert not verdict.blocked
    assert "undecided" in review.render_text(verdict)
    assert "cannot decide yet" in review.render_markdown(verdict)


def test_markdown_escapes_table_cells_and_lists_every_policy():
    text = review.render_markdown(_undecided_review())
    assert "data\\|acl" in text
    assert "('\\*' or '\\*:\\*')" in text
    assert "### Policy review of stack `t`: passed" in text
    for policy in POLICIES:
        assert f"| `{policy.name}` |" in text


def test_sarif_names_every_rule_and_points_results_into_the_stack_file():
    path = ROOT / "Pulumi.prod.yaml"
    plan = run_program("prod")
    verdict = review.evaluate(
        plan.resources,
        stack="prod",
        project=plan.project,
        region="cn-beijing",
        config={
            "oss-bucket-versioning": {"protectedEnvironments": []},
            "required-tags": {"requiredTags": ["environment", "project", "cost-owner", "owner"]},
        },
    )
    document = review.render_sarif(
        verdict, artifact="Pulumi.prod.yaml", artifact_text=path.read_text(encoding="utf-8")
    )
    assert document["version"] == "2.1.0"
    [run] = document["runs"]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == [p.name for p in POLICIES]
    assert len(run["results"]) == len(verdict.findings)
    lines = path.read_text(encoding="utf-8").splitlines()
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["level"] in ("error", "warning", "note")
        [location] = result["locations"]
        assert location["physicalLocation"]["artifactLocation"]["uri"] == "Pulumi.prod.yaml"
        line = location["physicalLocation"]["region"]["startLine"]
        if "acme-pai-prod-vision" in result["message"]["text"]:
            assert "acme-pai-prod-vision" in lines[line - 1]
    levels = {r["ruleId"]: r["level"] for r in run["results"]}
    assert levels == {"required-tags": "error", "oss-bucket-https-only": "warning"}


# --- kit plan -----------------------------------------------------------------------------------


def test_kit_plan_prints_and_writes_the_review_and_passes_a_sound_stack(
    tmp_path, capsys, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    markdown, sarif = tmp_path / "r.md", tmp_path / "r.sarif"
    code = kit_plan.main(["dev", "--markdown", str(markdown), "--sarif", str(sarif)])
    out = capsys.readouterr().out
    assert code == 0
    assert "Plan for stack dev" in out and "Policy review of stack dev" in out
    assert "PASSED: 0 mandatory" in out
    assert markdown.read_text().startswith("### Policy review of stack `dev`: passed")
    assert json.loads(sarif.read_text())["runs"][0]["results"]


def test_kit_plan_exits_1_on_a_mandatory_violation(tmp_path, capsys, monkeypatch, broken_stack):
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "policy.json"
    config.write_text(json.dumps(BROKEN_PACK_CONFIG), encoding="utf-8")
    code = kit_plan.main(
        [
            "broken",
            "--stack-file",
            str(broken_stack),
            "--policy-config",
            str(config),
            "--json",
            "--markdown",
            str(tmp_path / "r.md"),
            "--sarif",
            str(tmp_path / "r.sarif"),
        ]
    )
    document = json.loads(capsys.readouterr().out)
    assert code == 1
    assert document["review"]["verdict"] == "blocked"
    assert {
        (f["policy"], f["level"], f["resourceName"]) for f in document["review"]["findings"]
    } == BROKEN_FINDINGS
    assert document["resources"]
    assert "**Blocked**: 6 mandatory violation(s)" in (tmp_path / "r.md").read_text()


def test_kit_plan_exits_2_on_pack_config_it_refuses(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "policy.json"
    config.write_text(json.dumps({"oss-bucket-acl": "mandatory"}), encoding="utf-8")
    code = kit_plan.main(
        ["dev", "--policy-config", str(config), "--markdown", str(tmp_path / "r.md")]
    )
    assert code == 2
    assert "oss-bucket-acl-private" in capsys.readouterr().err
    assert not (tmp_path / "r.md").exists()


def test_kit_plan_still_exits_2_on_stack_config_the_kit_refuses(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    stack = tmp_path / "Pulumi.bad.yaml"
    stack.write_text("config:\n  pai-kit:encryption: DES\n", encoding="utf-8")
    code = kit_plan.main(["bad", "--stack-file", str(stack), "--markdown", str(tmp_path / "r.md")])
    assert code == 2
    assert "encryption" in capsys.readouterr().err
    assert not (tmp_path / "r.md").exists()


def test_kit_plan_writes_under_out_by_default(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    code = kit_plan.main(["staging"])
    assert code == 0
    assert "review written to out/review-staging.md and out/review-staging.sarif" in (
        capsys.readouterr().err
    )
    assert (ROOT / "out" / "review-staging.sarif").is_file()


def test_sarif_points_at_the_line_naming_even_a_short_user():
    text = "config:\n  pai-kit:easPolicyUsers:\n    - alice\n    - bob\n"
    finding = review.Finding(
        policy="ram-attach-to-groups",
        level="advisory",
        message="attached to a user",
        resource_name="eas-role-policy-user-bob",
    )
    assert review._line_of(text, finding) == 4
    alice = review.Finding("ram-attach-to-groups", "advisory", "m",
                           resource_name="eas-role-policy-user-alice")  # fmt: skip
    assert review._line_of(text, alice) == 3
