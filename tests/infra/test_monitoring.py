"""On-call essentials: a dashboard per environment, alarms to SNS, saved Logs Insights queries."""

from __future__ import annotations

import json

from stacks.config import parse_config
from tests.infra.cfn import render
from tests.infra.conftest import Synthesized, synthesize


def test_dashboard_covers_traffic_errors_latency_and_per_model_tokens_and_cost(
    env: Synthesized,
) -> None:
    (dashboard,) = env.service.find_resources("AWS::CloudWatch::Dashboard").values()
    body = render(dashboard["Properties"]["DashboardBody"])
    for title in (
        "Requests",
        "4xx / 5xx",
        "Throttled %",
        "Latency p50 / p90 / p99 (ms)",
        "Input tokens per model",
        "Output tokens per model",
        "Cost per model (USD, list price)",
    ):
        assert f'"title":"{title}"' in body, title
    for model_id in env.config.models.enabled:
        assert model_id in body
    assert f"BedrockKit/{env.config.env_name}" in body


def test_four_alarms_and_one_per_budgeted_team_publish_to_the_encrypted_topic(
    env: Synthesized,
) -> None:
    every = {
        a["Properties"]["AlarmDescription"]: a["Properties"]
        for a in env.service.find_resources("AWS::CloudWatch::Alarm").values()
    }
    budgeted = [team for team in env.config.api.teams if team.budgeted]
    assert budgeted, "the shipped configs give their team a budget"
    budget_alarms = {d: a for d, a in every.items() if a.get("MetricName") == "budget_soft_alerts"}
    assert len(budget_alarms) == len(budgeted)
    for team in budgeted:
        assert any(f"Team '{team.name}'" in description for description in budget_alarms)
    alarms = {d: a for d, a in every.items() if d not in budget_alarms}
    assert len(alarms) == 4
    (topic_id, topic) = next(iter(env.service.find_resources("AWS::SNS::Topic").items()))
    assert "KmsMasterKeyId" in topic["Properties"]
    config = env.config.alarms
    assert {d: a["Threshold"] for d, a in alarms.items()} == {
        "Share of 5xx answers above threshold (percent)": config.error_rate_percent,
        "Share of requests throttled by Bedrock or the gateway (percent)": (
            config.throttle_rate_percent
        ),
        "p99 API latency above threshold (ms)": config.p99_latency_ms,
        "List-price cost of model calls in the last day above budget (USD)": config.daily_cost_usd,
    }
    for alarm in every.values():
        assert alarm["AlarmActions"] == [{"Ref": topic_id}]


def test_alarms_reach_the_emails_and_the_existing_topic_config_names() -> None:
    topic = "arn:aws:sns:us-west-2:123456789012:pager"
    env = synthesize(
        parse_config(
            {
                "models": {"enabled": ["amazon.nova-micro-v1:0"]},
                "alarms": {
                    "emails": ["oncall@corp.internal"],
                    "topic_arn": topic,
                    "daily_cost_usd": 12.5,
                },
            },
            source="inline.toml",
            env_name="alarmtest",
        )
    )
    (subscription,) = env.service.find_resources("AWS::SNS::Subscription").values()
    assert subscription["Properties"]["Protocol"] == "email"
    assert subscription["Properties"]["Endpoint"] == "oncall@corp.internal"
    alarms = env.service.find_resources("AWS::CloudWatch::Alarm").values()
    assert 12.5 in [a["Properties"]["Threshold"] for a in alarms]
    for alarm in alarms:
        assert topic in alarm["Properties"]["AlarmActions"]


def test_production_alarms_have_a_subscriber(prod: Synthesized) -> None:
    subscriptions = prod.service.find_resources("AWS::SNS::Subscription").values()
    assert [s["Properties"]["Endpoint"] for s in subscriptions] == list(prod.config.alarms.emails)


def test_the_alarm_topic_has_a_key_of_its_own(env: Synthesized) -> None:
    (topic,) = env.service.find_resources("AWS::SNS::Topic").values()
    (key_id, key) = next(iter(env.service.find_resources("AWS::KMS::Key").items()))
    assert topic["Properties"]["KmsMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    services = {
        str(s["Principal"].get("Service"))
        for s in render(key["Properties"]["KeyPolicy"])["Statement"]
        if "Service" in s.get("Principal", {})
    }
    assert services == {"cloudwatch.amazonaws.com"}


def test_saved_queries_answer_cost_latency_and_error_questions(env: Synthesized) -> None:
    queries = {
        q["Properties"]["Name"].split("/")[-1]: q["Properties"]
        for q in env.service.find_resources("AWS::Logs::QueryDefinition").values()
    }
    assert set(queries) == {"top-models-by-cost", "slowest-requests", "errors-by-code"}
    assert "sum(cost_usd)" in queries["top-models-by-cost"]["QueryString"]
    assert "sort latency_ms desc" in queries["slowest-requests"]["QueryString"]
    for query in queries.values():
        assert "GatewayLogGroup" in json.dumps(query["LogGroupNames"])


def test_gateway_emits_metrics_into_the_environments_namespace(env: Synthesized) -> None:
    for function in env.service.find_resources("AWS::Lambda::Function").values():
        variables = function["Properties"].get("Environment", {}).get("Variables", {})
        if "GATEWAY_ROUTING" in variables:
            assert variables["GATEWAY_METRICS_NAMESPACE"] == f"BedrockKit/{env.config.env_name}"
