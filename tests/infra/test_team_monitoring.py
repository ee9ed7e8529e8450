"""Per-team dashboard widgets and the once-a-month soft budget alarms."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_logs as logs
from aws_cdk.assertions import Template

from local.cfn import render
from stacks.components.gateway_monitoring import AlarmThresholds, BudgetAlert, GatewayMonitoring
from tests.infra.conftest import project_app, stand_in_function

NAMESPACE = "BedrockKit/test"
PAGER = "arn:aws:sns:us-west-2:123456789012:pager"


def monitored(
    teams: tuple[str, ...] = (),
    budget_alerts: tuple[BudgetAlert, ...] = (),
    topic_arn: str | None = None,
) -> Template:
    stack = Stack(project_app(), "Bare")
    function = stand_in_function(stack)
    GatewayMonitoring(
        stack,
        "Monitoring",
        dashboard_name="kit",
        api=apigw.LambdaRestApi(stack, "Api", handler=function, rest_api_name="kit-api"),
        functions=[function],
        namespace=NAMESPACE,
        model_ids=["amazon.nova-micro-v1:0"],
        log_group=logs.LogGroup(stack, "Logs"),
        thresholds=AlarmThresholds(5, 10, 20_000, 100),
        emails=(),
        topic_arn=topic_arn,
        teams=teams,
        budget_alerts=budget_alerts,
    )
    return Template.from_stack(stack)


def dashboard_widgets(template: Template) -> dict[str, dict[str, Any]]:
    (dashboard,) = template.find_resources("AWS::CloudWatch::Dashboard").values()
    body = json.loads(render(dashboard["Properties"]["DashboardBody"]))
    return {w["properties"].get("title", ""): w["properties"] for w in body["widgets"]}


def test_dashboard_draws_one_line_per_team_for_requests_tokens_and_cost() -> None:
    widgets = dashboard_widgets(monitored(teams=("alpha", "beta")))
    requests = widgets["Requests per team"]["metrics"]
    assert [m[:4] for m in requests] == [
        [NAMESPACE, "requests", "team", "alpha"],
        [NAMESPACE, "requests", "team", "beta"],
    ]
    cost = widgets["Cost per team (USD, list price)"]["metrics"]
    assert [m[:4] for m in cost] == [
        [NAMESPACE, "cost_usd", "team", "alpha"],
        [NAMESPACE, "cost_usd", "team", "beta"],
    ]
    tokens = widgets["Tokens per team (input + output)"]["metrics"]
    expressions = [m[0] for m in tokens if isinstance(m[0], dict)]
    assert [(e["expression"], e["label"]) for e in expressions] == [
        ("in0 + out0", "alpha"),
        ("in1 + out1", "beta"),
    ]
    summed = {(m[1], m[3]) for m in tokens if m[0] == NAMESPACE}
    assert summed == {
        (name, team) for name in ("input_tokens", "output_tokens") for team in ("alpha", "beta")
    }


def test_without_teams_the_dashboard_has_no_team_widgets() -> None:
    assert not [t for t in dashboard_widgets(monitored()) if "per team" in t]


def test_one_budget_alarm_per_team_fires_on_the_first_soft_alert_to_every_topic() -> None:
    template = monitored(
        teams=("alpha", "beta"),
        budget_alerts=(BudgetAlert("alpha", 80), BudgetAlert("beta", 92.5)),
        topic_arn=PAGER,
    )
    alarms = [
        a["Properties"]
        for a in template.find_resources("AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("MetricName") == "budget_soft_alerts"
    ]
    assert len(alarms) == 2
    (topic_id,) = template.find_resources("AWS::SNS::Topic")
    by_team = {a["Dimensions"][0]["Value"]: a for a in alarms}
    assert set(by_team) == {"alpha", "beta"}
    for team, alarm in by_team.items():
        assert alarm["Namespace"] == NAMESPACE
        assert alarm["Dimensions"] == [{"Name": "team", "Value": team}]
        assert alarm["Statistic"] == "Sum"
        assert alarm["Period"] == 300
        assert alarm["Threshold"] == 1
        assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert (alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (1, 1)
        assert alarm["TreatMissingData"] == "notBreaching"
        assert alarm["AlarmActions"] == [{"Ref": topic_id}, PAGER]
    assert "Team 'alpha' crossed 80% of its monthly budget" in by_team["alpha"]["AlarmDescription"]
    assert "crossed 92.5%" in by_team["beta"]["AlarmDescription"]
    assert "429" in by_team["beta"]["AlarmDescription"]


def test_budget_alarms_join_the_alarm_status_widget_and_keep_the_four_gateway_alarms() -> None:
    template = monitored(teams=("alpha",), budget_alerts=(BudgetAlert("alpha", 80),))
    template.resource_count_is("AWS::CloudWatch::Alarm", 5)
    status = dashboard_widgets(template)["Alarms"]
    assert len(status["alarms"]) == 5


def test_a_team_with_two_budget_alerts_is_refused() -> None:
    with pytest.raises(ValueError, match="twice"):
        monitored(budget_alerts=(BudgetAlert("alpha", 80), BudgetAlert("alpha", 90)))
