"""Local runner: the gateway on uvicorn, backed by the Bedrock emulator unless told otherwise.

`make run` calls this. GATEWAY_BACKEND=bedrock uses real Bedrock with your AWS credentials.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from lambdas.gateway.app import GatewayApp
from lambdas.gateway.settings import DEFAULT_LOCAL_API_KEY, Settings
from stacks.config import ConfigError, load_config

ROOT = Path(__file__).resolve().parent.parent
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def banner(base_url: str, api_key: str, model: str, backend: str) -> str:
    """Return the start-up text: where the gateway is, its key and copy-paste examples."""
    return f"""
Bedrock gateway (local) on {backend}
  base URL : {base_url}
  API key  : {api_key}

Try it with curl:
  curl -s {base_url}/chat/completions \\
    -H 'Authorization: Bearer {api_key}' -H 'Content-Type: application/json' \\
    -d '{{"model": "{model}", "messages": [{{"role": "user", "content": "Hello!"}}]}}'

or with the OpenAI SDK (pip install openai):
  python3 -c 'from openai import OpenAI
c = OpenAI(base_url="{base_url}", api_key="{api_key}")
r = c.chat.completions.create(model="{model}", messages=[{{"role": "user", "content": "Hello!"}}])
print(r.choices[0].message.content)'

Ctrl-C stops it.
"""


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, start the backend and serve in the foreground."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--env", default="dev", help="config/<env>.toml to serve (default dev)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8080")))
    args = parser.parse_args(argv)
    if args.host not in LOOPBACK_HOSTS:
        parser.error("the local gateway only listens on loopback")
    try:
        config = load_config(ROOT / "config" / f"{args.env}.toml", args.env)
    except ConfigError as error:
        sys.stderr.write(f"config error: {error}\n")
        return 1
    for warning in config.models.warnings:
        sys.stderr.write(f"config warning: {config.source}: {warning}\n")

    backend = os.environ.get("GATEWAY_BACKEND", "emulator")
    if backend == "emulator":
        from local.emulator import start_emulator

        # Models the config declares exist on Bedrock as far as the platform team knows.
        declared = [spec for spec in config.models.specs() if spec.declared]
        emulator = start_emulator(port=int(os.environ.get("EMULATOR_PORT", "0")), declared=declared)
        # The standard variable: the gateway's boto3 client is not modified in any way.
        os.environ["AWS_ENDPOINT_URL_BEDROCK_RUNTIME"] = emulator.url
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "emulator")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "emulator")
        backend_label = f"the Bedrock emulator at {emulator.url} (answers are emulated)"
    elif backend == "bedrock":
        backend_label = "real Amazon Bedrock (your AWS credentials; calls are billed)"
    else:
        sys.stderr.write("GATEWAY_BACKEND must be 'emulator' (default) or 'bedrock'\n")
        return 1
    # The deployment's own region first: model availability and lifecycle differ per region.
    region = config.deployment.region or os.environ.get("AWS_REGION") or "us-east-1"

    routing = config.models.routing()
    api_key = os.environ.get("GATEWAY_API_KEY") or DEFAULT_LOCAL_API_KEY
    settings = Settings.from_env(
        {"GATEWAY_ROUTING": routing.to_json(), "GATEWAY_API_KEY": api_key, "AWS_REGION": region}
    )
    model = "balanced" if "balanced" in routing.aliases else routing.enabled[0].model_id
    print(banner(f"http://{args.host}:{args.port}/v1", api_key, model, backend_label), flush=True)

    import uvicorn

    uvicorn.run(
        GatewayApp(settings),
        host=args.host,
        port=args.port,
        http="h11",
        loop="asyncio",
        lifespan="off",
        access_log=False,
        log_level="warning",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
