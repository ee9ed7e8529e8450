"""Dashboard, alarms and saved Logs Insights queries for one environment's gateway."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from stacks.components.encryption import rotating_key

FIVE_MINUTES = Duration.minutes(5)
# The questions an on-call engineer asks first, over the gateway's per-request log line.
SAVED_QUERIES = {
    "top-models-by-cost": (
        "filter type = 'gateway.request' and ispresent(model)\n"
        "| stats sum(cost_usd) as cost, sum(input_tokens) as input, "
        "sum(output_tokens) as output, count(*) as requests by model\n"
        "| sort cost desc"
    ),
    "slowest-requests": (
        "filter type = 'gateway.request'\n"
        "| fields @timestamp, request_id, path, model, status, latency_ms\n"
        "| sort latency_ms desc\n"
        "| limit 50"
    ),
    "errors-by-code": (
        "filter type = 'gateway.request' and (status >= 400 or ispresent(stream_error_status))\n"
        "| stats count(*) as errors by error_code, status, model\n"
        "| sort errors desc"
    ),
}


@dataclass(frozen=True, slots=True)
class AlarmThresholds:
    """When each alarm fires."""

    error_rate_percent: float
    throttle_rate_percent: float
    p99_latency_ms: int
    daily_cost_usd: float


@dataclass(frozen=True, slots=True)
class BudgetAlert:
    """A team whose crossing of `soft_limit_percent` of a monthly budget pages the topic."""

    team: str
    soft_limit_percent: float


class GatewayMonitoring(Construct):
    """What the on-call engineer looks at: one dashboard, alarms and three saved queries.

    Four alarms watch the whole gateway; one more per budgeted team (`budget_alerts`) fires
    when the team crosses its soft budget threshold.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        dashboard_name: str,
        api: apigw.RestApi,
        functions: Sequence[lambda_.IFunction],
        namespace: str,
        model_ids: Sequence[str],
        log_group: logs.ILogGroup,
        thresholds: AlarmThresholds,
        emails: Sequence[str],
        topic_arn: str | None,
        teams: Sequence[str] = (),
        budget_alerts: Sequence[BudgetAlert] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        stage = api.deployment_stage
        alerted = [alert.team for alert in budget_alerts]
        if len(set(alerted)) != len(alerted):
            raise ValueError(f"budget alerts name a team twice: {alerted}")

        def gateway_metric(
            name: str, statistic: str = "Sum", model: str | None = None, team: str | None = None
        ) -> cloudwatch.Metric:
            # The gateway's EMF records declare per-model and per-team dimension sets
            # (lambdas/gateway/metering.py): one dimension at a time, never both.
            dimensions = {"model": model} if model else {"team": team} if team else {}
            return cloudwatch.Metric(
                namespace=namespace,
                metric_name=name,
                dimensions_map=dimensions,
                statistic=statistic,
                period=FIVE_MINUTES,
                label=model or team,
            )

        requests = stage.metric_count(period=FIVE_MINUTES, statistic="Sum")
        server_errors = stage.metric_server_error(period=FIVE_MINUTES, statistic="Sum")
        client_errors = stage.metric_client_error(period=FIVE_MINUTES, statistic="Sum")
        error_rate = cloudwatch.MathExpression(
            expression="100 * errors / MAX([errors, requests, 1])",
            using_metrics={"errors": server_errors, "requests": requests},
            label="5xx %",
            period=FIVE_MINUTES,
        )
        throttle_rate = cloudwatch.MathExpression(
            expression="100 * throttled / MAX([throttled, requests, 1])",
            using_metrics={
                "throttled": gateway_metric("throttled"),
                "requests": gateway_metric("requests"),
            },
            label="throttled %",
            period=FIVE_MINUTES,
        )
        latency = {
            p: stage.metric_latency(period=FIVE_MINUTES, statistic=p) for p in ("p50", "p90", "p99")
        }
        daily_cost = cloudwatch.Metric(
            namespace=namespace, metric_name="cost_usd", statistic="Sum", period=Duration.days(1)
        )

        # A key of its own: CloudWatch alarms need it to publish, and AWS documents no source
        # condition for that statement, so the key protects nothing but alarm messages.
        self.topic_key = rotating_key(
            self,
            "AlarmTopicKey",
            description="Bedrock kit: encrypts the alarm topic",
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.topic_key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarmsToPublish",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
            )
        )
        self.topic = sns.Topic(
            self, "AlarmTopic", display_name="Bedrock kit alarms", master_key=self.topic_key
        )
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="DenyInsecureTransport",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions={"Bool": {"aws:SecureTransport": "false"}},
            )
        )
        for email in emails:
            self.topic.add_subscription(subscriptions.EmailSubscription(email))
        self.targets: list[sns.ITopic] = [self.topic]
        if topic_arn is not None:
            # An existing topic (paging, ChatOps) hears every alarm too.
            self.targets.append(sns.Topic.from_topic_arn(self, "ExistingTopic", topic_arn))

        self.alarms = [
            self._alarm(
                "ServerErrorRate",
                error_rate,
                thresholds.error_rate_percent,
                "Share of 5xx answers above threshold (percent)",
            ),
            self._alarm(
                "ThrottleRate",
                throttle_rate,
                thresholds.throttle_rate_percent,
                "Share of requests throttled by Bedrock or the gateway (percent)",
            ),
            self._alarm(
                "LatencyP99",
                latency["p99"],
                thresholds.p99_latency_ms,
                "p99 API latency above threshold (ms)",
            ),
            self._alarm(
                "DailyCost",
                daily_cost,
                thresholds.daily_cost_usd,
                "List-price cost of model calls in the last day above budget (USD)",
                evaluation_periods=1,
            ),
        ]
        # The gateway emits budget_soft_alerts = 1 once per team and month, on the request
        # whose charge crosses the threshold: any datapoint is the news, silence is normal.
        self.budget_alarms = [
            self._alarm(
                f"BudgetSoftLimit-{alert.team}",
                # No label: an alarm on a labelled metric is rendered as a metric-math query.
                cloudwatch.Metric(
                    namespace=namespace,
                    metric_name="budget_soft_alerts",
                    dimensions_map={"team": alert.team},
                    statistic="Sum",
                    period=FIVE_MINUTES,
                ),
                1,
                f"Team '{alert.team}' crossed {alert.soft_limit_percent:g}% of its monthly "
                "budget (tokens or cost, UTC calendar month). At 100% the gateway stops its "
                "requests with 429 until the month ends.",
                evaluation_periods=1,
                comparison=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            )
            for alert in budget_alerts
        ]
        self.alarms.extend(self.budget_alarms)
        team_rows: list[list[cloudwatch.IWidget]] = []
        if teams:
            team_rows.append(
                [
                    cloudwatch.GraphWidget(
                        title="Requests per team",
                        left=[gateway_metric("requests", team=t) for t in teams],
                        width=8,
                    ),
                    cloudwatch.GraphWidget(
                        title="Tokens per team (input + output)",
                        left=[
                            cloudwatch.MathExpression(
                                expression=f"in{i} + out{i}",
                                using_metrics={
                                    f"in{i}": gateway_metric("input_tokens", team=t),
                                    f"out{i}": gateway_metric("output_tokens", team=t),
                                },
                                label=t,
                                period=FIVE_MINUTES,
                            )
                            for i, t in enumerate(teams)
                        ],
                        width=8,
                    ),
                    cloudwatch.GraphWidget(
                        title="Cost per team (USD, list price)",
                        left=[gateway_metric("cost_usd", team=t) for t in teams],
                        width=8,
                    ),
                ]
            )

        self.dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            dashboard_name=dashboard_name,
            widgets=[
                [
                    cloudwatch.GraphWidget(title="Requests", left=[requests], width=8),
                    cloudwatch.GraphWidget(
                        title="4xx / 5xx", left=[client_errors, server_errors], width=8
                    ),
                    cloudwatch.GraphWidget(title="Throttled %", left=[throttle_rate], width=8),
                ],
                [
                    cloudwatch.GraphWidget(
                        title="Latency p50 / p90 / p99 (ms)", left=list(latency.values()), width=12
                    ),
                    cloudwatch.GraphWidget(title="5xx %", left=[error_rate], width=12),
                ],
                [
                    cloudwatch.GraphWidget(
                        title="Input tokens per model",
                        left=[gateway_metric("input_tokens", model=m) for m in model_ids],
                        width=8,
                    ),
                    cloudwatch.GraphWidget(
                        title="Output tokens per model",
                        left=[gateway_metric("output_tokens", model=m) for m in model_ids],
                        width=8,
                    ),
                    cloudwatch.GraphWidget(
                        title="Cost per model (USD, list price)",
                        left=[gateway_metric("cost_usd", model=m) for m in model_ids],
                        width=8,
                    ),
                ],
                *team_rows,
                [
                    cloudwatch.GraphWidget(
                        title="Lambda throttles",
                        left=[f.metric_throttles(period=FIVE_MINUTES) for f in functions],
                        width=12,
                    ),
                    cloudwatch.GraphWidget(
                        title="Lambda errors",
                        left=[f.metric_errors(period=FIVE_MINUTES) for f in functions],
                        width=12,
                    ),
                ],
                [cloudwatch.AlarmStatusWidget(title="Alarms", alarms=self.alarms, width=24)],
            ],
        )
        for name, query in SAVED_QUERIES.items():
            logs.CfnQueryDefinition(
                self,
                f"Query-{name}",
                name=f"{dashboard_name}/{name}",
                query_string=query,
                log_group_names=[log_group.log_group_name],
            )

    def _alarm(
        self,
        construct_id: str,
        metric: cloudwatch.IMetric,
        threshold: float,
        description: str,
        evaluation_periods: int = 3,
        comparison: cloudwatch.ComparisonOperator = (
            cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
        ),
    ) -> cloudwatch.Alarm:
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            metric=metric,
            threshold=threshold,
            evaluation_periods=evaluation_periods,
            datapoints_to_alarm=min(2, evaluation_periods),
            comparison_operator=comparison,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )
        for topic in self.targets:
            alarm.add_alarm_action(actions.SnsAction(topic))
        return alarm
