"""`python -m local.doctor`: exit 0 when every model is ready, 1 with problems, 2 cannot check."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

from lambdas.gateway.catalog import Provider
from local import doctor
from local.doctor import main
from stacks.config import KitConfig
from tests.preflight.stubs import READY


class FakeBedrock:
    """A Bedrock control plane where every model is ready unless told otherwise."""

    def __init__(
        self,
        region: str = "us-east-1",
        *,
        legacy: Collection[str] = (),
        no_agreement: Collection[str] = (),
        use_case_submitted: bool = True,
        fail: Exception | None = None,
    ) -> None:
        self.meta = SimpleNamespace(region_name=region)
        self.legacy, self.no_agreement, self.fail = legacy, no_agreement, fail
        self.use_case_submitted = use_case_submitted
        self.calls: list[str] = []

    def _call(self, name: str) -> None:
        self.calls.append(name)
        if self.fail is not None:
            raise self.fail

    def get_use_case_for_model_access(self) -> dict[str, Any]:
        self._call("get_use_case_for_model_access")
        if not self.use_case_submitted:
            raise ClientError(
                {"Error": {"Code": "ResourceNotFoundException", "Message": "none"}},
                "GetUseCaseForModelAccess",
            )
        return {"formData": b"{}"}

    def get_foundation_model_availability(self, *, modelId: str) -> dict[str, Any]:
        self._call("get_foundation_model_availability")
        agreement = "NOT_AVAILABLE" if modelId in self.no_agreement else "AVAILABLE"
        return {**READY, "modelId": modelId, "agreementAvailability": {"status": agreement}}

    def get_foundation_model(self, *, modelIdentifier: str) -> dict[str, Any]:
        self._call("get_foundation_model")
        status = "LEGACY" if modelIdentifier in self.legacy else "ACTIVE"
        return {"modelDetails": {"modelLifecycle": {"status": status}}}

    def list_foundation_model_agreement_offers(self, *, modelId: str, offerType: str) -> Any:
        self._call("list_foundation_model_agreement_offers")
        return {"modelId": modelId, "offers": [{"offerToken": f"token-{modelId}"}]}

    def create_foundation_model_agreement(self, *, modelId: str, offerToken: str) -> Any:
        self._call(f"create_foundation_model_agreement:{offerToken}")
        return {"modelId": modelId}


def factory(fake: FakeBedrock, regions: list[str | None] | None = None) -> Any:
    def make(region: str | None) -> FakeBedrock:
        if regions is not None:
            regions.append(region)
        return fake

    return make


def test_every_model_ready_exits_zero_and_lists_each_model(
    dev_config: KitConfig, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--env", "dev"], client_factory=factory(FakeBedrock())) == 0
    out = capsys.readouterr().out
    count = len(dev_config.models.enabled)
    assert f"Bedrock model access in us-east-1: {count} of {count} models ready" in out
    assert all(f"ok: {model_id}" in out for model_id in dev_config.models.enabled)


def test_a_problem_exits_one_naming_the_model_and_its_fix(
    dev_config: KitConfig, capsys: pytest.CaptureFixture[str]
) -> None:
    legacy = dev_config.models.enabled[-1]
    assert main(["--env", "dev"], client_factory=factory(FakeBedrock(legacy={legacy}))) == 1
    out = capsys.readouterr().out
    assert f"NOT READY: {legacy}\n  - legacy: model is LEGACY" in out


def test_the_use_case_form_is_checked_for_the_catalogs_anthropic_models_only(
    prod_config: KitConfig, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = FakeBedrock(use_case_submitted=False)
    assert main(["--env", "prod"], client_factory=factory(fake)) == 1
    out = capsys.readouterr().out
    for spec in prod_config.models.specs():
        needs_form = spec.provider == Provider.ANTHROPIC
        assert (f"NOT READY: {spec.model_id}\n" in out) is needs_form
    assert fake.calls.count("get_use_case_for_model_access") == 1


def test_doctor_is_read_only_unless_asked_to_accept_offers(dev_config: KitConfig) -> None:
    model_id = dev_config.models.enabled[0]
    fake = FakeBedrock(no_agreement={model_id})
    assert main(["--env", "dev"], client_factory=factory(fake)) == 1
    assert not [call for call in fake.calls if "agreement" in call]
    fake = FakeBedrock(no_agreement={model_id})
    assert main(["--env", "dev", "--accept-offers"], client_factory=factory(fake)) == 1
    assert f"create_foundation_model_agreement:token-{model_id}" in fake.calls


def regionless(tmp_path: Path) -> str:
    """A config without deployment.region (an environment-agnostic deployment)."""
    path = tmp_path / "anywhere.toml"
    path.write_text(
        '[models]\ncross_region = "us"\nenabled = ["amazon.nova-micro-v1:0"]\n', encoding="utf-8"
    )
    return str(path)


def test_region_comes_from_aws_region_when_the_config_has_none(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-central-1")
    regions: list[str | None] = []
    argv = ["--env", "dev", "--config", regionless(tmp_path)]
    main(argv, client_factory=factory(FakeBedrock("eu-central-1"), regions))
    assert regions == ["eu-central-1"]


def test_the_config_region_wins_over_aws_region(
    monkeypatch: pytest.MonkeyPatch, dev_config: KitConfig
) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-central-1")
    regions: list[str | None] = []
    main(["--env", "dev"], client_factory=factory(FakeBedrock("us-west-2"), regions))
    assert regions == [dev_config.deployment.region] == ["us-west-2"]


@pytest.mark.parametrize(
    ("error", "line"),
    [
        (NoCredentialsError(), "doctor: no AWS credentials found"),
        (
            EndpointConnectionError(endpoint_url="https://bedrock.us-east-1.amazonaws.com"),
            "doctor: cannot reach the Bedrock endpoint",
        ),
        (
            ClientError(
                {"Error": {"Code": "ExpiredTokenException", "Message": "expired"}},
                "GetFoundationModelAvailability",
            ),
            "doctor: the AWS credentials were refused (ExpiredTokenException)",
        ),
    ],
)
def test_cannot_check_exits_two_with_one_line_and_no_traceback(
    capsys: pytest.CaptureFixture[str], error: Exception, line: str
) -> None:
    assert main(["--env", "prod"], client_factory=factory(FakeBedrock(fail=error))) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith(line) and captured.err.count("\n") == 1
    assert captured.out == ""


def test_no_region_anywhere_exits_two_with_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The real client factory: boto3 finds no region in the environment or a config file.
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "missing-config"))
    argv = ["--env", "dev", "--config", regionless(tmp_path)]
    assert main(argv, client_factory=doctor.default_client) == 2
    err = capsys.readouterr().err
    assert err == "doctor: no region: set deployment.region in the config, or AWS_REGION\n"


def test_an_unknown_environment_exits_two(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--env", "nosuch"], client_factory=factory(FakeBedrock())) == 2
    assert capsys.readouterr().err.startswith("doctor: ")
