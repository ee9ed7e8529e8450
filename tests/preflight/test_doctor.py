"""`make doctor` exits 0 when every model is ready, 1 with problems, 2 when it cannot check."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import NoCredentialsError

from local.doctor import main

READY = {
    "agreementAvailability": {"status": "AVAILABLE"},
    "authorizationStatus": "AUTHORIZED",
    "entitlementAvailability": "AVAILABLE",
    "regionAvailability": "AVAILABLE",
}


class FakeBedrock:
    """Answers every model as ready except the ones listed as legacy."""

    def __init__(self, legacy: set[str] | None = None, fail: Exception | None = None) -> None:
        self.legacy, self.fail = legacy or set(), fail

    def get_use_case_for_model_access(self) -> dict[str, Any]:
        if self.fail:
            raise self.fail
        return {"formData": b"{}"}

    def get_foundation_model_availability(self, modelId: str) -> dict[str, Any]:
        if self.fail:
            raise self.fail
        return {**READY, "modelId": modelId}

    def get_foundation_model(self, modelIdentifier: str) -> dict[str, Any]:
        status = "LEGACY" if modelIdentifier in self.legacy else "ACTIVE"
        return {"modelDetails": {"modelLifecycle": {"status": status}}}


def test_all_ready_exits_zero_and_lists_every_model(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    assert main(["--env", "dev"], lambda _region: FakeBedrock()) == 0
    out = capsys.readouterr().out
    assert "12 of 12 models ready" in out and "amazon.nova-micro-v1:0: ok" in out


def test_a_legacy_model_exits_one_with_its_fix(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    assert (
        main(["--env", "dev"], lambda _region: FakeBedrock({"mistral.mistral-7b-instruct-v0:2"}))
        == 1
    )
    assert "mistral.mistral-7b-instruct-v0:2: NOT READY" in capsys.readouterr().out


def test_missing_credentials_exit_two_with_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    assert main(["--env", "prod"], lambda _region: FakeBedrock(fail=NoCredentialsError())) == 2
    err = capsys.readouterr().err
    assert err.startswith("doctor: cannot reach Bedrock in us-east-1") and "Traceback" not in err


def test_no_region_exits_two(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    assert main(["--env", "dev"], lambda _region: FakeBedrock()) == 2
    assert "no region" in capsys.readouterr().err
