"""`python -m local.doctor`: exit 0 when everything is ready, 1 with problems, 2 cannot check."""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError
from botocore.stub import Stubber

from lambdas.gateway.catalog import Provider
from local import doctor
from local.doctor import ROOT, main
from tests.preflight.stubs import (
    FORM,
    HAIKU,
    NOVA,
    READY,
    SONNET,
    USE_CASE_PARAMETER,
    expect_form_parameter,
    expect_form_parameter_error,
)

ROLE = "arn:aws:iam::111122223333:role/apigateway-cloudwatch-logs"
PROVIDERS = {NOVA: "amazon", HAIKU: Provider.ANTHROPIC, SONNET: Provider.ANTHROPIC}


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
        self.submitted: list[bytes] = []

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

    def put_use_case_for_model_access(self, *, formData: bytes) -> dict[str, Any]:
        self._call("put_use_case_for_model_access")
        self.submitted.append(formData)
        return {}

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


def stand_in(
    *,
    region: str | None = "us-east-1",
    models: Collection[str] = (NOVA, HAIKU, SONNET),
    parameter: str | None = None,
    gateway: int = 0,
    authorizer: int = 0,
    auth: str = "api_key",
    manage_role: bool = False,
) -> SimpleNamespace:
    """A config with just what the doctor reads (stacks.config is not parsed here)."""
    specs = [SimpleNamespace(model_id=m, provider=PROVIDERS[m], invocation=None) for m in models]
    return SimpleNamespace(
        deployment=SimpleNamespace(region=region),
        models=SimpleNamespace(enabled=list(models), specs=lambda: specs),
        access_check=SimpleNamespace(anthropic_use_case_parameter=parameter),
        gateway=SimpleNamespace(reserved_concurrency=gateway),
        api=SimpleNamespace(
            auth=SimpleNamespace(value=auth),
            authorizer_reserved_concurrency=authorizer,
            manage_account_logging_role=manage_role,
        ),
    )


Use = Callable[..., list[tuple[Path, str]]]


@pytest.fixture
def use(monkeypatch: pytest.MonkeyPatch) -> Use:
    """Make the doctor load a stand-in config; returns the (path, env) it was asked to load."""

    def install(**changes: Any) -> list[tuple[Path, str]]:
        loaded: list[tuple[Path, str]] = []
        config = stand_in(**changes)

        def load(path: Path, env: str) -> SimpleNamespace:
            loaded.append((path, env))
            return config

        monkeypatch.setattr(doctor, "load_config", load)
        return loaded

    return install


class Aws:
    """Stubbed SSM, Lambda and API Gateway clients handed out by the doctor's service factory."""

    def __init__(self) -> None:
        self.clients: dict[str, Any] = {
            service: boto3.client(service, region_name="us-east-1")
            for service in ("ssm", "lambda", "apigateway")
        }
        self.stubbers = {service: Stubber(client) for service, client in self.clients.items()}
        self.asked: list[tuple[str, str | None]] = []

    def factory(self, service: str, region: str | None) -> Any:
        self.asked.append((service, region))
        return self.clients[service]

    def limits(self, *, limit: int = 1000, unreserved: int = 1000) -> None:
        """Queue Lambda's GetAccountSettings answer."""
        self.stubbers["lambda"].add_response(
            "get_account_settings",
            {
                "AccountLimit": {
                    "TotalCodeSize": 80_530_636_800,
                    "CodeSizeUnzipped": 262_144_000,
                    "CodeSizeZipped": 52_428_800,
                    "ConcurrentExecutions": limit,
                    "UnreservedConcurrentExecutions": unreserved,
                },
                "AccountUsage": {"TotalCodeSize": 0, "FunctionCount": 0},
            },
            {},
        )

    def logging_role(self, role: str | None = ROLE) -> None:
        """Queue API Gateway's GetAccount answer, with or without a CloudWatch role."""
        answer: dict[str, Any] = {"throttleSettings": {"burstLimit": 5000, "rateLimit": 10000.0}}
        if role:
            answer["cloudwatchRoleArn"] = role
        self.stubbers["apigateway"].add_response("get_account", answer, {})

    def account(self, **limits: int) -> None:
        """Queue both account answers: generous limits and a logging role."""
        self.limits(**limits)
        self.logging_role()


@pytest.fixture
def aws() -> Iterator[Aws]:
    fake = Aws()
    for stubber in fake.stubbers.values():
        stubber.activate()
    yield fake
    for stubber in fake.stubbers.values():
        # Every queued answer was asked for; an unqueued call fails the test when it is made.
        stubber.assert_no_pending_responses()
        stubber.deactivate()


def run(aws: Aws, *argv: str, bedrock: FakeBedrock | None = None, **kwargs: Any) -> int:
    return main(
        ["--env", "dev", *argv],
        client_factory=factory(bedrock or FakeBedrock(), **kwargs),
        service_client_factory=aws.factory,
    )


# Models -------------------------------------------------------------------------------------


def test_everything_ready_exits_zero_and_lists_each_model_and_setting(
    use: Use, aws: Aws, capsys: pytest.CaptureFixture[str]
) -> None:
    loaded = use()
    aws.account()
    assert run(aws) == 0
    assert loaded == [(ROOT / "config" / "dev.toml", "dev")]
    out = capsys.readouterr().out
    assert "Bedrock model access in us-east-1: 3 of 3 models ready" in out
    assert all(f"ok: {model_id}" in out for model_id in (NOVA, HAIKU, SONNET))
    assert "Account settings in us-east-1: 2 of 2 ready" in out
    assert "ok: Lambda concurrency" in out and "ok: API Gateway CloudWatch logging role" in out


def test_a_problem_exits_one_naming_the_model_and_its_fix(
    use: Use, aws: Aws, capsys: pytest.CaptureFixture[str]
) -> None:
    use()
    aws.account()
    assert run(aws, bedrock=FakeBedrock(legacy={SONNET})) == 1
    assert f"NOT READY: {SONNET}\n  - legacy: model is LEGACY" in capsys.readouterr().out


def test_the_use_case_form_is_checked_for_the_catalogs_anthropic_models_only(
    use: Use, aws: Aws, capsys: pytest.CaptureFixture[str]
) -> None:
    use()
    aws.account()
    fake = FakeBedrock(use_case_submitted=False)
    assert run(aws, bedrock=fake) == 1
    out = capsys.readouterr().out
    for model_id, provider in PROVIDERS.items():
        assert (f"NOT READY: {model_id}\n" in out) is (provider == Provider.ANTHROPIC)
    assert fake.calls.count("get_use_case_for_model_access") == 1
    assert "put_use_case_for_model_access" not in fake.calls


def test_doctor_is_read_only_unless_asked_to_accept_offers(use: Use, aws: Aws) -> None:
    use()
    aws.account()
    fake = FakeBedrock(no_agreement={NOVA})
    assert run(aws, bedrock=fake) == 1
    assert not [call for call in fake.calls if "agreement" in call]
    aws.account()
    fake = FakeBedrock(no_agreement={NOVA})
    assert run(aws, "--accept-offers", bedrock=fake) == 1
    assert f"create_foundation_model_agreement:token-{NOVA}" in fake.calls


# Anthropic's use-case form ------------------------------------------------------------------


def test_submit_use_case_reads_the_form_from_its_ssm_parameter_and_submits_it(
    use: Use, aws: Aws, capsys: pytest.CaptureFixture[str]
) -> None:
    use(parameter=USE_CASE_PARAMETER)
    expect_form_parameter(aws.stubbers["ssm"])
    aws.account()
    fake = FakeBedrock(use_case_submitted=False)
    assert run(aws, "--submit-use-case", bedrock=fake) == 0
    assert fake.submitted == [json.dumps(FORM).encode()]
    out = capsys.readouterr().out
    assert "note: Anthropic first-time-use form submitted by this run" in out
    assert not [value for value in FORM.values() if len(value) > 3 and value in out]


def test_without_submit_use_case_the_parameter_is_never_read(use: Use, aws: Aws) -> None:
    use(parameter=USE_CASE_PARAMETER)
    aws.account()  # nothing queued for SSM: a GetParameter call would fail the test
    assert run(aws, bedrock=FakeBedrock(use_case_submitted=False)) == 1
    assert ("ssm", "us-east-1") not in aws.asked


def test_submit_use_case_with_a_missing_parameter_exits_two_naming_it(
    use: Use, aws: Aws, capsys: pytest.CaptureFixture[str]
) -> None:
    use(parameter=USE_CASE_PARAMETER)
    expect_form_parameter_error(aws.stubbers["ssm"], "ParameterNotFound")
    fake = FakeBedrock(use_case_submitted=False)
    assert run(aws, "--submit-use-case", bedrock=fake) == 2
    captured = capsys.readouterr()
    assert captured.err == (
        f"doctor: SSM parameter {USE_CASE_PARAMETER!r} (access_check.anthropic_use_case_parameter)"
        " not found in us-east-1: create it as a SecureString holding Anthropic's use-case form"
        " (a JSON object), or leave the setting empty\n"
    )
    assert captured.out == "" and fake.submitted == []


def test_submit_use_case_with_an_invalid_form_exits_two_without_quoting_it(
    use: Use, aws: Aws, capsys: pytest.CaptureFixture[str]
) -> None:
    use(parameter=USE_CASE_PARAMETER)
    expect_form_parameter(aws.stubbers["ssm"], json.dumps({**FORM, "intendedUsers": 3}))
    assert run(aws, "--submit-use-case", bedrock=FakeBedrock(use_case_submitted=False)) == 2
    err = capsys.readouterr().err
    assert "must hold a JSON object whose values are all strings" in err
    assert not [value for value in FORM.values() if len(value) > 3 and value in err]


def test_submit_use_case_without_a_parameter_in_config_exits_two_naming_the_key(
    use: Use, aws: Aws, capsys: pytest.CaptureFixture[str]
) -> None:
    use(parameter=None)
    assert run(aws, "--submit-use-case") == 2
    err = capsys.readouterr().err
    assert err.startswith(
        "doctor: --submit-use-case needs access_check.anthropic_use_case_parameter: the name of "
        "an SSM SecureString"
    )


def test_submit_use_case_reads_nothing_when_no_anthropic_model_is_enabled(
    use: Use, aws: Aws
) -> None:
    use(parameter=USE_CASE_PARAMETER, models=(NOVA,))
    aws.account()
    assert run(aws, "--submit-use-case") == 0


# Lambda concurrency -------------------------------------------------------------------------


def test_nothing_reserved_just_reports_the_accounts_limits(
    use: Use, aws: Aws, capsys: pytest.CaptureFixture[str]
) -> None:
    use(gateway=0, authorizer=0)
    aws.account(limit=10, unreserved=10)  # a new account's limit: fine while nothing is reserved
    assert run(aws) == 0
    assert (
        "ok: Lambda concurrency\n  note: account limit 10 concurrent executions, 10 unreserved; "
        "this config reserves none\n"
    ) in capsys.readouterr().out


def test_a_reservation_that_leaves_enough_is_reported_with_what_is_left(
    use: Use, aws: Aws, capsys: pytest.CaptureFixture[str]
) -> None:
    use(gateway=20, authorizer=10)
    aws.account(limit=1000, unreserved=950)
    assert run(aws) == 0
    assert (
        "note: account limit 1000 concurrent executions, 950 unreserved; this config reserves 50 "
        "(2 x gateway.reserved_concurrency 20 + api.authorizer_reserved_concurrency 10), "
        "leaving 900 unreserved"
    ) in capsys.readouterr().out


def test_leaving_exactly_100_unreserved_is_ok(use: Use, aws: Aws) -> None:
    use(gateway=20, authorizer=10)
    aws.account(limit=150, unreserved=150)
    assert run(aws) == 0


def test_a_reservation_leaving_under_100_is_a_problem_naming_the_keys_to_lower(
    use: Use, aws: Aws, capsys: pytest.CaptureFixture[str]
) -> None:
    use(gateway=20, authorizer=10)
    aws.account(limit=149, unreserved=149)
    assert run(aws) == 1
    out = capsys.readouterr().out
    assert "Account settings in us-east-1: 1 of 2 ready\nNOT READY: Lambda concurrency\n" in out
    assert (
        "  - account limit 149 concurrent executions, 149 unreserved; this config reserves 50 "
        "(2 x gateway.reserved_concurrency 20 + api.authorizer_reserved_concurrency 10), which "
        "would leave 99 unreserved: Lambda keeps at least 100, so the deploy would fail "
        '("decreases account\'s UnreservedConcurrentExecution below its minimum value"); lower '
        "gateway.reserved_concurrency and api.authorizer_reserved_concurrency so this config "
        "reserves at most 49 in all (0 = no reservation), or raise the account's Lambda "
        "concurrent executions quota in Service Quotas\n"
    ) in out
    assert "already subtracted from the unreserved figure" in out


def test_the_authorizer_reservation_counts_only_with_api_key_auth(
    use: Use, aws: Aws, capsys: pytest.CaptureFixture[str]
) -> None:
    use(gateway=10, authorizer=500, auth="iam")
    aws.account(limit=10, unreserved=10)  # a new account: no room for any reservation
    assert run(aws) == 1
    out = capsys.readouterr().out
    assert "this config reserves 20 (2 x gateway.reserved_concurrency 10), which would" in out
    assert "; set gateway.reserved_concurrency to 0 (no reservation), or raise" in out
    assert "api.authorizer_reserved_concurrency" not in out


def test_unreadable_lambda_limits_are_a_problem_naming_the_permission(
    use: Use, aws: Aws, capsys: pytest.CaptureFixture[str]
) -> None:
    use()
    aws.stubbers["lambda"].add_client_error(
        "get_account_settings", "AccessDeniedException", "denied", http_status_code=403
    )
    aws.logging_role()
    assert run(aws) == 1
    assert (
        "NOT READY: Lambda concurrency\n  - could not read it (AccessDeniedException): grant "
        "lambda:GetAccountSettings to your identity"
    ) in capsys.readouterr().out


# API Gateway's account logging role ---------------------------------------------------------


def test_no_account_logging_role_and_no_management_is_a_problem(
    use: Use, aws: Aws, capsys: pytest.CaptureFixture[str]
) -> None:
    use(manage_role=False)
    aws.limits()
    aws.logging_role(None)
    assert run(aws) == 1
    assert (
        "NOT READY: API Gateway CloudWatch logging role\n"
        "  - the account has no CloudWatch logging role for API Gateway in us-east-1: the "
        "stage's access and execution logging need it, so creating the stage fails and so "
        "does the deployment; set "
        "api.manage_account_logging_role = true in exactly one environment of this account and "
        "region, or set the role up once outside the kit (API Gateway console, Settings)\n"
    ) in capsys.readouterr().out


def test_managing_a_role_the_account_already_has_warns_of_the_takeover(
    use: Use, aws: Aws, capsys: pytest.CaptureFixture[str]
) -> None:
    use(manage_role=True)
    aws.account()
    assert run(aws) == 0  # a warning, not a problem
    out = capsys.readouterr().out
    assert "ok: API Gateway CloudWatch logging role\n  warning: " in out
    assert f"this environment will take over the account's setting in us-east-1 (now {ROLE})" in (
        out
    )


def test_managing_the_role_when_the_account_has_none_is_ok(
    use: Use, aws: Aws, capsys: pytest.CaptureFixture[str]
) -> None:
    use(manage_role=True)
    aws.limits()
    aws.logging_role(None)
    assert run(aws) == 0
    assert "note: the account has none in us-east-1: this environment will set it" in (
        capsys.readouterr().out
    )


def test_an_existing_role_left_unmanaged_is_named(
    use: Use, aws: Aws, capsys: pytest.CaptureFixture[str]
) -> None:
    use(manage_role=False)
    aws.account()
    assert run(aws) == 0
    assert f"note: the account's role in us-east-1: {ROLE}" in capsys.readouterr().out


# Region and cannot-check --------------------------------------------------------------------


def test_region_comes_from_aws_region_when_the_config_has_none(
    monkeypatch: pytest.MonkeyPatch, use: Use, aws: Aws
) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-central-1")
    use(region=None)
    aws.account()
    regions: list[str | None] = []
    run(aws, bedrock=FakeBedrock("eu-central-1"), regions=regions)
    assert regions == ["eu-central-1"]
    assert aws.asked == [("lambda", "eu-central-1"), ("apigateway", "eu-central-1")]


def test_the_config_region_wins_over_aws_region(
    monkeypatch: pytest.MonkeyPatch, use: Use, aws: Aws
) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-central-1")
    use(region="us-west-2")
    aws.account()
    regions: list[str | None] = []
    run(aws, bedrock=FakeBedrock("us-west-2"), regions=regions)
    assert regions == ["us-west-2"]
    assert {region for _, region in aws.asked} == {"us-west-2"}


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
    use: Use, aws: Aws, capsys: pytest.CaptureFixture[str], error: Exception, line: str
) -> None:
    use()
    assert run(aws, bedrock=FakeBedrock(fail=error)) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith(line) and captured.err.count("\n") == 1
    assert captured.out == ""


def test_refused_credentials_at_an_account_check_exit_two_with_nothing_printed(
    use: Use, aws: Aws, capsys: pytest.CaptureFixture[str]
) -> None:
    use()
    aws.stubbers["lambda"].add_client_error(
        "get_account_settings", "ExpiredTokenException", "expired", http_status_code=403
    )
    assert run(aws) == 2
    captured = capsys.readouterr()
    assert captured.err == (
        "doctor: the AWS credentials were refused (ExpiredTokenException): refresh them and retry\n"
    )
    assert captured.out == ""


def test_an_unreachable_account_endpoint_exits_two_naming_the_service(
    use: Use, aws: Aws, capsys: pytest.CaptureFixture[str]
) -> None:
    use()

    class Unreachable:
        meta = SimpleNamespace(region_name="us-east-1")

        def get_account_settings(self) -> Any:
            raise EndpointConnectionError(endpoint_url="https://lambda.us-east-1.amazonaws.com")

    def make(service: str, region: str | None) -> Any:
        return Unreachable() if service == "lambda" else aws.factory(service, region)

    bedrock = factory(FakeBedrock())
    assert main(["--env", "dev"], client_factory=bedrock, service_client_factory=make) == 2
    assert capsys.readouterr().err.startswith("doctor: cannot reach the Lambda endpoint")


def test_no_region_anywhere_exits_two_with_one_line(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    use: Use,
    aws: Aws,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The real client factory: boto3 finds no region in the environment or a config file.
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "missing-config"))
    use(region=None)
    code = main(["--env", "dev"], client_factory=doctor.default_client)
    assert code == 2
    err = capsys.readouterr().err
    assert err == "doctor: no region: set deployment.region in the config, or AWS_REGION\n"


def test_an_unknown_environment_exits_two(aws: Aws, capsys: pytest.CaptureFixture[str]) -> None:
    # The real config loader: config/nosuch.toml does not exist.
    bedrock = factory(FakeBedrock())
    assert (
        main(["--env", "nosuch"], client_factory=bedrock, service_client_factory=aws.factory) == 2
    )
    assert capsys.readouterr().err.startswith("doctor: ")
