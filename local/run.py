"""Local runner: the gateway on uvicorn, backed by the Bedrock emulator unless told otherwise.

`make run` calls this. GATEWAY_BACKEND=bedrock uses real Bedrock with your AWS credentials.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from lambdas.gateway.app import GatewayApp, Receive, Scope, Send
from lambdas.gateway.catalog import Api
from lambdas.gateway.errors import ApiError
from lambdas.gateway.settings import Settings
from local.guardrails import deployed_ids_json as deployed_guardrails_json
from local.guardrails import ids_json as guardrail_ids_json
from local.guardrails import local_guardrails
from local.knowledge_bases import deployed_ids_json, ids_json, ingest_all, local_knowledge_bases
from stacks.config import ConfigError, KitConfig, load_config

ROOT = Path(__file__).resolve().parent.parent
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
# The key README.md documents for `make run` when GATEWAY_API_KEY is not set. Local only: the
# gateway itself has no built-in key.
LOCAL_API_KEY = "local-dev-key"
# A Host header naming the loopback, with any port.
_LOOPBACK_HOST = re.compile(r"(127\.0\.0\.1|localhost|\[::1\])(:[0-9]{1,5})?", re.IGNORECASE)


def is_loopback_host(host: str) -> bool:
    """Whether a Host header value is 127.0.0.1, localhost or [::1], with or without a port."""
    return _LOOPBACK_HOST.fullmatch(host.strip()) is not None


# Binding to loopback stops other machines, not a web page: a page on a name its attacker
# re-points to 127.0.0.1 (DNS rebinding) reaches this port from the developer's own browser,
# with that name in its Host header. Every local client names the loopback; the rest get a 403.
class LoopbackHostOnly:
    """ASGI wrapper refusing requests whose Host header is not a loopback name."""

    def __init__(self, app: GatewayApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse an HTTP request for a foreign host; pass everything else to the gateway."""
        if scope["type"] == "http":
            hosts = [value for name, value in scope.get("headers", []) if name == b"host"]
            host = hosts[0].decode("latin-1") if len(hosts) == 1 else ""
            if not is_loopback_host(host):
                await _refuse_host(host, send)
                return
        await self.app(scope, receive, send)


async def _refuse_host(host: str, send: Send) -> None:
    shown = host[:100] or "(none)"
    sys.stderr.write(f"local gateway: refused a request for Host {shown!r} (not loopback)\n")
    error = ApiError(
        403,
        f"Host {shown!r} is not allowed: the local gateway answers only requests addressed to "
        "127.0.0.1, localhost or [::1] (DNS-rebinding protection). Use http://127.0.0.1:<port>.",
        type_="permission_error",
        code="host_not_allowed",
    )
    body = json.dumps(error.body()).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 403, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def local_keys(team_names: Sequence[str], first_key: str) -> dict[str, str]:
    """One local key per team: the first team gets `first_key`, the others local-<team>-key."""
    return {
        team: first_key if position == 0 else f"local-{team}-key"
        for position, team in enumerate(team_names)
    }


def banner(
    base_url: str,
    api_key: str,
    model: str,
    backend: str,
    keys: Mapping[str, str] | None = None,
    knowledge_base: str | None = None,
) -> str:
    """Return the start-up text: where the gateway is, its keys and copy-paste examples."""
    teams = "".join(f"\n    team {team:<12} {key}" for team, key in (keys or {}).items())
    grounded = (
        f"""
Grounded in the knowledge base '{knowledge_base}' (answers cite its passages):
  curl -s {base_url}/chat/completions \\
    -H 'Authorization: Bearer {api_key}' -H 'Content-Type: application/json' \\
    -d '{{"model": "{model}", "knowledge_base": "{knowledge_base}",
         "messages": [{{"role": "user", "content": "How do I file travel expenses?"}}]}}'
"""
        if knowledge_base
        else ""
    )
    return f"""
Bedrock gateway (local) on {backend}
  base URL : {base_url}
  API key  : {api_key}{teams}

Try it with curl:
  curl -s {base_url}/chat/completions \\
    -H 'Authorization: Bearer {api_key}' -H 'Content-Type: application/json' \\
    -d '{{"model": "{model}", "messages": [{{"role": "user", "content": "Hello!"}}]}}'

or with the OpenAI SDK (pip install openai):
  python3 -c 'from openai import OpenAI
c = OpenAI(base_url="{base_url}", api_key="{api_key}")
r = c.chat.completions.create(model="{model}", messages=[{{"role": "user", "content": "Hello!"}}])
print(r.choices[0].message.content)'
{grounded}
Ctrl-C stops it.
"""


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, start the backend and serve in the foreground."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--env", default="dev", help="config/<env>.toml to serve (default dev)")
    parser.add_argument(
        "--config", type=Path, help="another config file (default config/<env>.toml)"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8080")))
    args = parser.parse_args(argv)
    if args.host not in LOOPBACK_HOSTS:
        parser.error("the local gateway only listens on loopback")
    try:
        config = load_config(args.config or ROOT / "config" / f"{args.env}.toml", args.env)
    except ConfigError as error:
        sys.stderr.write(f"config error: {error}\n")
        return 1
    for warning in config.warnings:
        sys.stderr.write(f"config warning: {config.source}: {warning}\n")

    # The deployment's own region first: model availability and lifecycle differ per region.
    region = config.deployment.region or os.environ.get("AWS_REGION") or "us-east-1"
    backend = os.environ.get("GATEWAY_BACKEND", "emulator")
    if backend == "emulator":
        from local.emulator import LocalEndpoint, start_emulator

        # Models the config declares exist on Bedrock as far as the platform team knows.
        declared = [spec for spec in config.models.specs() if spec.declared]
        knowledge_bases = local_knowledge_bases(config)
        guardrails = local_guardrails(config)
        # Own models on SageMaker endpoints answer from the emulator's stand-in.
        endpoints = [
            LocalEndpoint(spec.invocation, spec.name)
            for spec in declared
            if spec.api is Api.SAGEMAKER and spec.invocation is not None
        ]
        emulator = start_emulator(
            port=int(os.environ.get("EMULATOR_PORT", "0")),
            declared=declared,
            knowledge_bases=knowledge_bases,
            guardrails=guardrails,
            sagemaker_endpoints=endpoints,
        )
        # The standard variables: the gateway's boto3 clients are not modified in any way.
        services = (
            "BEDROCK_RUNTIME",
            "BEDROCK_AGENT_RUNTIME",
            "BEDROCK_AGENT",
            "SAGEMAKER_RUNTIME",
        )
        for service in services:
            os.environ[f"AWS_ENDPOINT_URL_{service}"] = emulator.url
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "emulator")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "emulator")
        backend_label = f"the Bedrock emulator at {emulator.url} (answers are emulated)"
        # The sample documents are indexed as `make ingest` would (re-run it after edits).
        for line in ingest_all(emulator.url, knowledge_bases):
            print(f"knowledge base {line}", flush=True)
        knowledge_base_ids = ids_json(knowledge_bases)
        guardrail_ids = guardrail_ids_json(config, guardrails)
    elif backend == "bedrock":
        backend_label = "real Amazon Bedrock (your AWS credentials; calls are billed)"
        # Real knowledge bases need their ids: GATEWAY_KNOWLEDGE_BASE_IDS (name -> id, JSON),
        # else the deployed environment's (the Stateful stack's outputs).
        knowledge_base_ids = os.environ.get("GATEWAY_KNOWLEDGE_BASE_IDS", "")
        # Guardrails likewise: GATEWAY_GUARDRAILS (name -> {id, version}, JSON).
        guardrail_ids = os.environ.get("GATEWAY_GUARDRAILS", "")
        try:
            if config.knowledge_bases and not knowledge_base_ids:
                knowledge_base_ids = deployed_ids_json(config, region)
            if config.guardrails and not guardrail_ids:
                guardrail_ids = deployed_guardrails_json(config, region)
        except Exception as error:  # noqa: BLE001 - one line, whatever AWS said
            sys.stderr.write(f"deployed ids: {error}\n")
            return 1
    else:
        sys.stderr.write("GATEWAY_BACKEND must be 'emulator' (default) or 'bedrock'\n")
        return 1

    routing = config.models.routing()
    api_key = os.environ.get("GATEWAY_API_KEY") or LOCAL_API_KEY
    # Each team its own key, as deployed: allow-lists and budgets (counted in memory) apply.
    keys = local_keys([team.name for team in config.api.teams], api_key)
    try:
        settings = _settings(config, keys, region, knowledge_base_ids, guardrail_ids)
    except ValueError as error:
        sys.stderr.write(f"gateway settings: {error}\n")
        return 1
    model = "balanced" if "balanced" in routing.aliases else routing.enabled[0].model_id
    base_url = f"http://{args.host}:{args.port}/v1"
    first_kb = config.knowledge_bases[0].name if config.knowledge_bases else None
    print(banner(base_url, api_key, model, backend_label, keys, first_kb), flush=True)

    import uvicorn

    uvicorn.run(
        LoopbackHostOnly(GatewayApp(settings)),
        host=args.host,
        port=args.port,
        http="h11",
        loop="asyncio",
        lifespan="off",
        access_log=False,
        log_level="warning",
    )
    return 0


def _settings(
    config: KitConfig,
    keys: Mapping[str, str],
    region: str,
    knowledge_base_ids: str,
    guardrail_ids: str,
) -> Settings:
    """The local gateway's settings, as the stacks would set them."""
    return Settings.from_env(
        {
            "GATEWAY_ROUTING": config.gateway_routing_json(),
            "GATEWAY_AUTH": "key",
            "GATEWAY_API_KEYS": json.dumps(keys),
            "GATEWAY_CORS_ORIGINS": ",".join(config.api.cors_allowed_origins),
            "GATEWAY_KNOWLEDGE_BASE_IDS": knowledge_base_ids,
            "GATEWAY_GUARDRAILS": guardrail_ids,
            "AWS_REGION": region,
        }
    )


if __name__ == "__main__":
    sys.exit(main())
