"""The gateway function and its REST API: runtime, Web Adapter, keys, limits and logs."""

from __future__ import annotations

import json

import pytest

from stacks.components.gateway_function import web_adapter_layer_arn
from tests.infra.cfn import render
from tests.infra.conftest import Synthesized

HANDLERS = {"gateway.lambda_handler.handler": "buffered", "run.sh": "response_stream"}


def gateway_functions(env: Synthesized) -> dict[str, tuple[str, dict]]:
    """The gateway functions, buffered and response_stream: (logical id, properties)."""
    functions = {
        HANDLERS[f["Properties"]["Handler"]]: (logical_id, f["Properties"])
        for logical_id, f in env.service.find_resources("AWS::Lambda::Function").items()
        if f["Properties"].get("Handler") in HANDLERS
    }
    assert set(functions) == {"buffered", "response_stream"}
    return functions


def gateway_function(env: Synthesized) -> dict:
    return gateway_functions(env)["buffered"][1]


def test_buffered_gateway_runs_latest_python_on_arm64_as_a_plain_handler(
    env: Synthesized,
) -> None:
    function = gateway_function(env)
    assert function["Runtime"] == "python3.14"
    assert function["Architectures"] == ["arm64"]
    # No Web Adapter and no HTTP server: the event goes straight into the app.
    assert not function.get("Layers")
    variables = function["Environment"]["Variables"]
    assert not [name for name in variables if name.startswith(("AWS_LWA_", "AWS_LAMBDA_EXEC"))]
    assert variables["GATEWAY_AUTH"] == "api-gateway"
    assert variables["GATEWAY_THREADED_CALLS"] == "false"
    assert variables["GATEWAY_BEDROCK_MAX_ATTEMPTS"] == "1"
    assert variables["GATEWAY_TIME_BUDGET_SECONDS"] == str(env.config.gateway.timeout_seconds - 2)


def test_streaming_gateway_streams_through_the_web_adapter(env: Synthesized) -> None:
    function = gateway_functions(env)["response_stream"][1]
    assert function["Runtime"] == "python3.14"
    layers = [render(layer) for layer in function["Layers"]]
    assert layers == [
        "arn:${AWS::Partition}:lambda:${AWS::Region}:753240598075:layer:LambdaAdapterLayerArm64:"
        f"{env.config.gateway.web_adapter_layer_version}"
    ]
    variables = function["Environment"]["Variables"]
    assert variables["AWS_LAMBDA_EXEC_WRAPPER"] == "/opt/bootstrap"
    assert variables["AWS_LWA_READINESS_CHECK_PATH"] == "/health"
    assert variables["AWS_LWA_INVOKE_MODE"] == "response_stream"
    assert variables["GATEWAY_TIME_BUDGET_SECONDS"] == str(
        env.config.gateway.stream_timeout_seconds - 2
    )


def test_gateway_routing_travels_in_the_asset_and_matches_the_config(env: Synthesized) -> None:
    function = gateway_function(env)
    assert function["Environment"]["Variables"]["GATEWAY_ROUTING_FILE"] == "routing.json"
    asset_hash = function["Code"]["S3Key"].removesuffix(".zip")
    routing = json.loads((env.outdir / f"asset.{asset_hash}" / "routing.json").read_text())
    assert [model["id"] for model in routing["models"]] == list(env.config.models.enabled)
    assert routing["aliases"] == {k: list(v) for k, v in env.config.models.aliases.items()}
    assert routing["cross_region"] == env.config.models.cross_region.value
    # Every variable together stays under Lambda's 4 KB limit.
    assert len(json.dumps(function["Environment"]["Variables"])) < 4096


def test_gateway_function_limits_come_from_config(env: Synthesized) -> None:
    function = gateway_function(env)
    assert function["MemorySize"] == env.config.gateway.memory_mb
    assert function["Timeout"] == env.config.gateway.timeout_seconds
    # 0 in config: no reservation taken from the account's unreserved pool.
    assert function.get("ReservedConcurrentExecutions") == (
        env.config.gateway.reserved_concurrency or None
    )
    assert function["VpcConfig"]["SecurityGroupIds"]


def test_both_functions_share_code_role_network_and_routing(env: Synthesized) -> None:
    (_, buffered), (_, streaming) = gateway_functions(env).values()
    for key in ("Code", "Role", "VpcConfig", "Runtime", "Architectures"):
        assert buffered[key] == streaming[key], key
    assert (
        buffered["Environment"]["Variables"]["GATEWAY_ROUTING_FILE"]
        == streaming["Environment"]["Variables"]["GATEWAY_ROUTING_FILE"]
    )
    assert streaming["Timeout"] == env.config.gateway.stream_timeout_seconds


def integration_of(env: Synthesized, path_part: str) -> dict:
    resources = env.service.find_resources("AWS::ApiGateway::Resource")
    (resource_id,) = [k for k, r in resources.items() if r["Properties"]["PathPart"] == path_part]
    methods = [
        m["Properties"]
        for m in env.service.find_resources("AWS::ApiGateway::Method").values()
        if m["Properties"]["ResourceId"] == {"Ref": resource_id}
    ]
    assert len(methods) == 1
    return methods[0]["Integration"]


@pytest.mark.parametrize("path_part", ["completions", "responses"])
def test_chat_and_responses_stream_through_the_response_stream_function(
    env: Synthesized, path_part: str
) -> None:
    functions = gateway_functions(env)
    integration = integration_of(env, path_part)
    assert integration["ResponseTransferMode"] == "STREAM"
    assert integration["TimeoutInMillis"] == env.config.gateway.stream_timeout_seconds * 1000
    uri = render(integration["Uri"])
    assert "/2021-11-15/functions/" in uri and uri.endswith("/response-streaming-invocations")
    assert f"${{{functions['response_stream'][0]}.Arn}}" in uri


def test_other_routes_stay_buffered_on_the_buffered_function(env: Synthesized) -> None:
    functions = gateway_functions(env)
    integration = integration_of(env, "{proxy+}")
    assert integration.get("ResponseTransferMode", "BUFFERED") == "BUFFERED"
    uri = render(integration["Uri"])
    assert "/2015-03-31/functions/" in uri
    assert f"${{{functions['buffered'][0]}.Arn}}" in uri


def test_every_method_requires_an_api_key_and_validates_requests(env: Synthesized) -> None:
    methods = env.service.find_resources("AWS::ApiGateway::Method")
    assert methods
    for method in methods.values():
        assert method["Properties"]["ApiKeyRequired"] is True
        assert "RequestValidatorId" in method["Properties"]
        assert method["Properties"]["Integration"]["Type"] == "AWS_PROXY"


def test_usage_plan_applies_config_throttle_and_quota(env: Synthesized) -> None:
    (team,) = env.config.api.teams
    env.service.has_resource_properties(
        "AWS::ApiGateway::UsagePlan",
        {
            "Throttle": {
                "RateLimit": team.throttle_rate_limit,
                "BurstLimit": team.throttle_burst_limit,
            },
            "Quota": {"Limit": team.quota_requests_per_day, "Period": "DAY"},
        },
    )
    env.service.resource_count_is("AWS::ApiGateway::ApiKey", 1)
    env.service.resource_count_is("AWS::ApiGateway::UsagePlanKey", 1)


def test_stage_logs_metadata_only_and_never_bodies(env: Synthesized) -> None:
    stage = next(iter(env.service.find_resources("AWS::ApiGateway::Stage").values()))["Properties"]
    assert stage["StageName"] == env.config.api.stage_name
    log_format = json.loads(stage["AccessLogSetting"]["Format"])
    assert "$context.requestId" in log_format.values()
    values = set(log_format.values())
    assert "$context.identity.apiKey" not in values  # the key id is logged, never its value
    assert not any("body" in value.lower() or "header" in value.lower() for value in values)
    for setting in stage["MethodSettings"]:
        assert setting["DataTraceEnabled"] is False


def test_usage_plan_key_value_is_generated_by_aws_and_never_output(env: Synthesized) -> None:
    keys = env.service.find_resources("AWS::ApiGateway::ApiKey")
    ((_key_id, key),) = keys.items()
    # No value in the template: API Gateway generates it; only the authorizer reads it.
    assert "Value" not in key["Properties"]
    # Clients use the kit's own keys (make keys): no output points at a usage-plan key.
    outputs = env.service.to_json()["Outputs"]
    assert not [name for name in outputs if "ApiKey" in name]


def test_web_adapter_layer_arn_follows_the_configured_version() -> None:
    assert web_adapter_layer_arn(27).endswith(":layer:LambdaAdapterLayerArm64:27")
