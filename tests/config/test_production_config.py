"""deployment.production, who hears the alarms, secrets kept out of config, logging keys."""

from __future__ import annotations

from typing import Any

import pytest

from stacks.config import LOG_RETENTION_DAYS, KitConfig, load_config
from tests.config.helpers import MINIMAL, TODAY, parse, problem, with_
from tests.conftest import ROOT

TOPIC = "arn:aws:sns:us-west-2:123456789012:bedrock-kit-oncall"
REASON = "sandbox account: nobody is on call for it"
PLACEHOLDER = "bedrock-kit-alarms@example.com"


def production(**alarms: Any) -> dict[str, Any]:
    data = with_("deployment", production=True)
    data["alarms"] = alarms
    return data


# --- the shipped files -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["dev", "prod"])
def test_shipped_configs_load(name: str) -> None:
    config = load_config(ROOT / "config" / f"{name}.toml", name, today=TODAY)
    assert (config.env_name, config.source) == (name, str(ROOT / "config" / f"{name}.toml"))


def test_prod_is_a_production_environment_with_waf_and_teams_under_the_stage(
    prod_config: KitConfig,
) -> None:
    assert prod_config.deployment.production is True
    api = prod_config.api
    assert api.waf is True
    assert (api.throttle_rate_limit, api.throttle_burst_limit) == (100, 200)
    (team,) = api.teams
    assert (team.name, team.throttle_rate_limit, team.throttle_burst_limit) == ("default", 50, 100)
    assert team.quota_requests_per_day == 200_000
    assert api.authorizer_reserved_concurrency == 10
    assert prod_config.gateway.reserved_concurrency == 50


def test_prod_warns_that_its_alarm_address_is_a_placeholder() -> None:
    config = load_config(ROOT / "config" / "prod.toml", "prod", today=TODAY)
    assert config.warnings == (
        f"alarms.emails: {PLACEHOLDER} is a placeholder address (RFC 2606 domain): "
        "nobody receives these alarms",
    )


def test_dev_reserves_no_concurrency_and_has_no_warnings() -> None:
    config = load_config(ROOT / "config" / "dev.toml", "dev", today=TODAY)
    assert config.deployment.production is False
    assert config.gateway.reserved_concurrency == 0
    assert config.api.waf is False
    assert config.warnings == ()


# --- deployment.production and the alarms ------------------------------------------------------


def test_production_defaults_to_false() -> None:
    assert parse(MINIMAL).deployment.production is False


def test_production_must_be_a_boolean() -> None:
    assert problem(with_("deployment", production="yes")) == (
        "deployment.production: must be true or false, got 'yes'"
    )


def test_a_production_environment_whose_alarms_reach_nobody_is_refused() -> None:
    line = problem(production())
    assert line.startswith("alarms.emails: a production environment ")
    for key in ("alarms.emails", "alarms.topic_arn", "alarms.no_subscriber_reason"):
        assert key in line


@pytest.mark.parametrize(
    "alarms",
    [{"emails": ["oncall@corp.io"]}, {"topic_arn": TOPIC}, {"no_subscriber_reason": REASON}],
    ids=["emails", "topic", "reason"],
)
def test_a_production_environment_names_a_subscriber_or_says_why_not(
    alarms: dict[str, Any],
) -> None:
    assert parse(production(**alarms)).deployment.production is True


def test_a_non_production_environment_may_have_no_alarm_subscriber() -> None:
    alarms = parse(MINIMAL).alarms
    assert (alarms.emails, alarms.topic_arn, alarms.no_subscriber_reason) == ((), None, None)


def test_an_alarm_topic_must_be_an_sns_topic_arn() -> None:
    assert parse(with_("alarms", topic_arn=TOPIC)).alarms.topic_arn == TOPIC
    line = problem(with_("alarms", topic_arn="arn:aws:sqs:us-west-2:123456789012:queue"))
    assert line.startswith("alarms.topic_arn: 'arn:aws:sqs:us-west-2:123456789012:queue' is not ")


def test_a_reason_for_no_subscriber_is_a_sentence_not_a_word() -> None:
    assert problem(production(no_subscriber_reason="sandbox")) == (
        "alarms.no_subscriber_reason: must be at least 20 characters long"
    )


@pytest.mark.parametrize(
    "email",
    [
        PLACEHOLDER,
        "oncall@example.net",
        "oncall@EXAMPLE.ORG",
        "oncall@alerts.example.com",
        "oncall@corp.example",
        "oncall@corp.test",
        "oncall@corp.invalid",
        "oncall@dev.localhost",
    ],
)
def test_an_rfc_2606_alarm_address_warns_but_does_not_stop_synthesis(email: str) -> None:
    config = parse(production(emails=[email]))
    assert config.warnings == (
        f"alarms.emails: {email} is a placeholder address (RFC 2606 domain): "
        "nobody receives these alarms",
    )


@pytest.mark.parametrize("email", ["oncall@corp.io", "oncall@example-corp.com", "a@test.dev"])
def test_a_real_alarm_address_gives_no_warning(email: str) -> None:
    assert parse(with_("alarms", emails=[email])).warnings == ()


def test_config_warnings_list_model_warnings_then_alarm_warnings() -> None:
    opus_41 = "anthropic.claude-opus-4-1-20250805-v1:0"
    data = {
        "models": {"enabled": [opus_41], "cross_region": "us"},
        "alarms": {"emails": [PLACEHOLDER]},
    }
    config = parse(data)
    assert len(config.warnings) == 2
    assert config.warnings[0] == config.models.warnings[0]
    assert config.warnings[1].startswith(f"alarms.emails: {PLACEHOLDER} is a placeholder")


# --- access_check: the Anthropic form lives in SSM ---------------------------------------------


def test_the_anthropic_use_case_table_is_refused_pointing_to_ssm() -> None:
    form = {"companyName": "Corp", "companyWebsite": "https://corp.io", "useCases": "search"}
    line = problem(with_("access_check", anthropic_use_case=form))
    assert line.startswith("access_check.anthropic_use_case: no longer read from config")
    assert "SSM SecureString" in line
    assert "access_check.anthropic_use_case_parameter" in line


@pytest.mark.parametrize("name", ["/bedrock-kit/anthropic-use-case", "anthropic_use_case.v1"])
def test_the_anthropic_use_case_parameter_names_an_ssm_parameter(name: str) -> None:
    config = parse(with_("access_check", anthropic_use_case_parameter=name))
    assert config.access_check.anthropic_use_case_parameter == name


def test_an_anthropic_use_case_parameter_that_is_no_ssm_name_is_refused() -> None:
    line = problem(with_("access_check", anthropic_use_case_parameter="my form!"))
    assert line.startswith("access_check.anthropic_use_case_parameter: 'my form!' is not ")


def test_without_a_parameter_no_form_is_submitted() -> None:
    assert parse(MINIMAL).access_check.anthropic_use_case_parameter is None


# --- invocation logging, gateway, observability ------------------------------------------------


def test_invocation_logs_go_to_s3_only_and_the_kit_makes_the_auditor_role_by_default() -> None:
    logging = parse(MINIMAL).invocation_logging
    assert (logging.cloudwatch, logging.auditor_role_arn) == (False, None)


def test_invocation_logging_reads_cloudwatch_and_an_existing_auditor_role() -> None:
    role = "arn:aws:iam::123456789012:role/Auditors"
    data = with_("invocation_logging", cloudwatch=True, auditor_role_arn=role)
    logging = parse(data).invocation_logging
    assert (logging.cloudwatch, logging.auditor_role_arn) == (True, role)


def test_an_auditor_that_is_not_a_role_arn_is_refused() -> None:
    data = with_("invocation_logging", auditor_role_arn="arn:aws:iam::123456789012:user/alice")
    assert problem(data).startswith("invocation_logging.auditor_role_arn: ")


def test_gateway_reserved_concurrency_defaults_to_no_reservation() -> None:
    assert parse(MINIMAL).gateway.reserved_concurrency == 0
    assert parse(with_("gateway", reserved_concurrency=0)).gateway.reserved_concurrency == 0


def test_gateway_reserved_concurrency_is_at_most_1000() -> None:
    assert problem(with_("gateway", reserved_concurrency=1001)) == (
        "gateway.reserved_concurrency: must be at most 1000, got 1001"
    )


@pytest.mark.parametrize("days", LOG_RETENTION_DAYS)
def test_every_cloudwatch_retention_is_accepted(days: int) -> None:
    assert parse(with_("observability", log_retention_days=days)).observability.log_retention_days
