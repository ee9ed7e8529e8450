"""The gateway functions' environment, in one place for the stacks and the benchmark.

Standard library only: `bench/run.py` measures the gateway with exactly what is deployed.
"""

from __future__ import annotations

from stacks.components.gateway_bundle import ROUTING_FILE

# The buffered function's entry point: API Gateway's proxy event straight into the ASGI app.
PYTHON_HANDLER = "gateway.lambda_handler.handler"
# The streaming function's entry point: the Web Adapter's wrapper runs this script, which
# starts uvicorn; the adapter forwards each invocation to it over HTTP and streams the answer.
WEB_ADAPTER_HANDLER = "run.sh"
WEB_ADAPTER_PORT = "8080"
# Leave this much of the function's time for the answer and its log line.
ANSWER_MARGIN_SECONDS = 2
STREAM_LEASE_MARGIN_SECONDS = 60


def gateway_environment(
    *,
    streaming: bool,
    timeout_seconds: int,
    log_content: bool,
    metrics_namespace: str,
    usage_table_name: str | None = None,
    require_team: bool = False,
) -> dict[str, str]:
    """Environment variables of the buffered (`streaming=False`) or the streaming function."""
    environment = {
        # Written into the asset by the bundler (stacks/components/gateway_bundle.py).
        "GATEWAY_ROUTING_FILE": ROUTING_FILE,
        # API Gateway validates the usage-plan key before the function runs.
        "GATEWAY_AUTH": "api-gateway",
        # One request at a time per environment: no thread hand-off needed.
        "GATEWAY_THREADED_CALLS": "false",
        "GATEWAY_LOG_CONTENT": "true" if log_content else "false",
        "GATEWAY_METRICS_NAMESPACE": metrics_namespace,
        # Every Bedrock read ends within what is left of this budget, so the gateway answers
        # its own 504 (logged and metered) before Lambda or API Gateway give up.
        "GATEWAY_TIME_BUDGET_SECONDS": str(max(timeout_seconds - ANSWER_MARGIN_SECONDS, 1)),
        # One attempt per model: an alias's next model is the retry.
        "GATEWAY_BEDROCK_MAX_ATTEMPTS": "1",
    }
    if require_team:
        # Behind the key authorizer: a request without its team is refused, never served.
        environment["GATEWAY_REQUIRE_TEAM"] = "true"
    if usage_table_name is not None:
        # Each team's monthly counters: read before a call, added to after it (budgets).
        environment["GATEWAY_USAGE_TABLE"] = usage_table_name
    if streaming:
        environment |= {
            "AWS_LAMBDA_EXEC_WRAPPER": "/opt/bootstrap",
            "AWS_LWA_PORT": WEB_ADAPTER_PORT,
            "AWS_LWA_READINESS_CHECK_PATH": "/health",
            # The function behind API Gateway's STREAM integration.
            "AWS_LWA_INVOKE_MODE": "response_stream",
            # A team's stream slot is held at most this long: a stream cut by a crash or a
            # timeout frees it by itself after the function's timeout.
            "GATEWAY_STREAM_LEASE_SECONDS": str(timeout_seconds + STREAM_LEASE_MARGIN_SECONDS),
            "PORT": WEB_ADAPTER_PORT,
        }
    return environment
