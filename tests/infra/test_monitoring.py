"""On-call essentials: a dashboard per environment, alarms to SNS, saved Logs Insights queries."""

from __future__ import annotations

import json

from stacks.config import parse_config
from tests.infra.cfn import render
from tests.infra.conftest import Synthesized, synthesize


def test_dashboard_covers_traffic_errors_latency_and_per_model_tokens_and_cost(
    env: Synthesized,
) -> None:
    (dashboard,) = env.monitoring.find_resources("AWS::CloudWatch::Dashboard").values()
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


def test_four_alarms_publish_to_the_encrypted_topic_with_config_thresholds(
    env: Synthesized,
) -> None:
    alarms = {
        a["Properties"]["AlarmDescription"]: a["Properties"]
        for a in env.monitoring.find_resources("AWS::CloudWatch::Alarm").values()
    }
    assert len(alarms) == 4
    (topic_id, topic) = next(iter(env.monitoring.find_resources("AWS::SNS::Topic").items()))
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
    for alarm in alarms.values():
        assert alarm["AlarmActions"] == [{"Ref": topic_id}]


def test_alarm_emails_come_from_config() -> None:
    env = synthesize(
        parse_config(
            {
                "models": {"enabled": ["amazon.nova-micro-v1:0"]},
                "alarms": {"emails": ["oncall@example.com"], "daily_cost_usd": 12.5},
            },
            source="inline.toml",
            env_name="alarmtest",
        )
    )
    (subscription,) = env.monitoring.find_resources("AWS::SNS::Subscription").values()
    assert subscription["Properties"]["Protocol"] == "email"
    assert subscription["Properties"]["Endpoint"] == "oncall@example.com"
    costs = [
        a["Properties"]["Threshold"]
        for a in env.monitoring.find_resources("AWS::CloudWatch::Alarm").values()
    ]
    assert 12.5 in costs


def test_saved_queries_answer_cost_latency_and_error_questions(env: Synthesized) -> None:
    queries = {
        q["Properties"]["Name"].split("/")[-1]: q["Properties"]
        for q in env.monitoring.find_resources("AWS::Logs::QueryDefinition").values()
    }
    assert set(queries) == {"top-models-by-cost", "slowest-requests", "errors-by-code"}
    assert "sum(cost_usd)" in queries["top-models-by-cost"]["QueryString"]
    assert "sort latency_ms desc" in queries["slowest-requests"]["QueryString"]
    for query in queries.values():
        assert "GatewayLogGroup" in json.dumps(query["LogGroupNames"])


def test_gateway_emits_metrics_into_the_environments_namespace(env: Synthesized) -> None:
    for function in env.api.find_resources("AWS::Lambda::Function").values():
        variables = function["Properties"].get("Environment", {}).get("Variables", {})
        if "GATEWAY_ROUTING" in variables:
            assert variables["GATEWAY_METRICS_NAMESPACE"] == f"BedrockKit/{env.config.env_name}"
