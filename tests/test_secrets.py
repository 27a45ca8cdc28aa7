"""Credentials never live in files, and what comes from a secret stays secret."""

import json
import re
import subprocess
from pathlib import Path

import pulumi
import pytest
from pulumi.runtime import settings as runtime_settings
from pulumi.runtime.sync_await import _sync_await

from paikit import config, runtime
from paikit.config import ConfigError
from paikit.plan import ROOT, available_stacks, run_program, stack_config
from tests.conftest import RecordingMocks

# An AccessKey id: LTAI and 12 to 30 letters or digits. A secret: 30 letters or digits on a line
# that names a secret. Encrypted (secure:) values may be committed; they are skipped.
ACCESS_KEY_ID = re.compile(r"(?<![0-9A-Za-z])LTAI[0-9A-Za-z]{12,30}(?![0-9A-Za-z])")
SECRET_NAME = re.compile(r"secret|password|passwd|token|credential|access_?key", re.IGNORECASE)
SECRET_VALUE = re.compile(r"(?<![0-9A-Za-z+/])[0-9A-Za-z]{30}(?![0-9A-Za-z+/=])")
SKIPPED_DIRS = {".git", ".venv", "node_modules", "__pycache__", ".hypothesis", ".pytest_cache"}
SKIPPED_DIRS |= {".ruff_cache"}


def project_files(root: Path) -> list[Path]:
    """Every file of the project a commit could hold: tracked, or new and not ignored."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=root,
            capture_output=True,
            check=True,
            timeout=60,
        ).stdout.decode()
        paths = [root / name for name in listed.split("\0") if name]
    except (OSError, subprocess.SubprocessError):
        paths = [p for p in root.rglob("*") if not SKIPPED_DIRS & set(p.relative_to(root).parts)]
    return sorted(p for p in paths if p.is_file())


def credential_findings(path: Path) -> list[str]:
    data = path.read_bytes()
    if b"\0" in data:
        return []
    findings = []
    for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), start=1):
        if ACCESS_KEY_ID.search(line):
            findings.append(f"{path.name}:{number}: an AccessKey id")
        if "secure:" not in line and SECRET_NAME.search(line) and SECRET_VALUE.search(line):
            findings.append(f"{path.name}:{number}: a 30-character secret beside a secret name")
    return findings


def test_no_project_file_holds_an_access_key():
    files = project_files(ROOT)
    assert ROOT / "Pulumi.prod.yaml" in files and ROOT / "README.md" in files
    findings = [f for path in files for f in credential_findings(path)]
    assert findings == []


def test_the_credential_scan_finds_planted_keys(tmp_path):
    key_id = "LTAI" + "5tQ8wXb9" * 2
    secret = "k3Jd9" * 6
    planted = {
        "Pulumi.leak.yaml": f"config:\n  alicloud:accessKey: {key_id}\n",
        "settings.py": f'ALIBABA_CLOUD_ACCESS_KEY_SECRET = "{secret}"\n',
        "notes.md": f"the token is {secret}\n",
    }
    for name, text in planted.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "clean.yaml").write_text(
        f"config:\n  alicloud:secretKey:\n    secure: v1:{secret}{secret}\n  id: {secret}\n"
    )
    found = {p.name for p in project_files(tmp_path) if credential_findings(p)}
    assert found == set(planted)


@pytest.mark.parametrize("stack", available_stacks())
def test_stack_files_hold_provider_credentials_only_as_secrets(stack):
    _, values, secrets = stack_config(stack)
    for key in config.CREDENTIAL_KEYS:
        assert key not in values or key in secrets, f"{key} in plain text in Pulumi.{stack}.yaml"


def _prod(**changes):
    _, values, _ = stack_config("prod")
    return {**values, **changes}


def test_a_plain_credential_in_config_is_refused_without_echoing_it():
    secret = "k3Jd9" * 6
    with pytest.raises(ConfigError) as caught:
        config.load(_prod(**{"alicloud:secretKey": secret}), "prod")
    assert [p.split(" = ")[0] for p in caught.value.problems] == ["alicloud:secretKey"]
    assert secret not in str(caught.value)
    values = _prod(**{"alicloud:secretKey": secret})
    assert config.load(values, "prod", frozenset({"alicloud:secretKey"})).protected


@pytest.mark.parametrize("key", config.NAMING_KEYS)
def test_values_that_name_resources_cannot_be_secrets(key):
    with pytest.raises(ConfigError) as caught:
        config.load(_prod(), "prod", frozenset({f"pai-kit:{key}"}))
    [problem] = caught.value.problems
    assert problem.startswith(f"{key} = ") and "cannot be a secret" in problem


def test_errors_never_show_a_secret_value():
    secret = "my KMS key, not a key id"
    values = _prod(**{"pai-kit:kmsKeyId": secret})
    with pytest.raises(ConfigError) as caught:
        config.load(values, "prod", frozenset({"pai-kit:kmsKeyId"}))
    message = str(caught.value)
    assert secret not in message
    assert "kmsKeyId = [secret]: a KMS key id or key ARN" in message
    # buckets inherit the stack's key, which is reported once, at the stack key
    assert "buckets[0].kmsKeyId" not in message


def test_a_zone_error_does_not_show_a_secret_zone():
    values = _prod(**{"pai-kit:networkZoneId": "cn-beijing-z"})
    mocks = RecordingMocks(region="cn-beijing")
    with pytest.raises(pulumi.RunError) as caught:
        run_program("prod", config=values, secret_keys=["pai-kit:networkZoneId"], mocks=mocks)
    assert "cn-beijing-z" not in str(caught.value)
    assert 'networkZoneId = "[secret]"' in str(caught.value)
    assert mocks.registrations == []


def _stack_outputs():
    """The program's exports, as Outputs, of the run that just finished."""
    return dict(runtime_settings.get_root_resource().outputs)


SECRET_KEYS = (
    "networkVpcId", "networkVswitchId", "networkZoneId", "networkVswitchCidr", "kmsKeyId",
    "paiWorkspaceId", "easPolicyName",
)  # fmt: skip


@pytest.mark.parametrize("key", SECRET_KEYS)
def test_every_output_derived_from_a_secret_value_is_secret(key):
    values = _prod(**{"pai-kit:easPolicyName": "PaiEasRole-prod-ml"})
    plan = run_program("prod", config=values, secret_keys=[f"pai-kit:{key}"])
    secret = values[f"pai-kit:{key}"]
    outputs = _stack_outputs()
    assert set(outputs) == set(plan.outputs)
    for name, output in outputs.items():
        shows_secret = secret in json.dumps(plan.outputs[name])
        is_secret = _sync_await(pulumi.Output.from_input(output).is_secret())
        assert is_secret == shows_secret, f"{name} with {key} secret"
    if key.startswith("networkV") and key != "networkVswitchCidr":
        assert _sync_await(outputs["dswCreateInstanceFragment"].is_secret())


def test_without_secrets_no_output_is_sealed():
    run_program("prod")
    for name, output in _stack_outputs().items():
        assert not _sync_await(pulumi.Output.from_input(output).is_secret()), name


@pulumi.runtime.test
def test_keep_secret_seals_only_values_that_show_a_secret():
    secrets = config.secret_texts(
        {"pai-kit:networkVpcId": "vpc-2ze1", "pai-kit:tags": '["team=ml"]'},
        frozenset({"pai-kit:networkVpcId", "pai-kit:tags"}),
    )
    assert secrets == {"vpc-2ze1", "team=ml", '["team=ml"]'}
    sealed = runtime.keep_secret({"VpcId": pulumi.Output.from_input("vpc-2ze1")}, secrets)
    tagged = runtime.keep_secret(["team=ml"], secrets)
    plain = runtime.keep_secret("vpc-other", secrets)

    def check(args):
        sealed_secret, tagged_secret, plain_secret, value = args
        assert (sealed_secret, tagged_secret, plain_secret) == (True, True, False)
        assert value == {"VpcId": "vpc-2ze1"}

    return pulumi.Output.all(
        pulumi.Output.from_input(sealed.is_secret()),
        pulumi.Output.from_input(tagged.is_secret()),
        pulumi.Output.from_input(plain.is_secret()),
        pulumi.Output.unsecret(sealed),
    ).apply(check)
