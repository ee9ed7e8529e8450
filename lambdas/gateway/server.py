"""Process entry point: serve the gateway with uvicorn (behind the Lambda Web Adapter in AWS)."""

from __future__ import annotations

import os
import sys

from .app import GatewayApp
from .settings import Settings


def main() -> None:
    """Read settings from the environment and serve until stopped."""
    try:
        settings = Settings.from_env(os.environ)
    except ValueError as error:
        sys.stderr.write(f"gateway: configuration error: {error}\n")
        raise SystemExit(2) from None
    import uvicorn

    uvicorn.run(
        GatewayApp(settings),
        host=os.environ.get("HOST", "127.0.0.1"),
        port=int(os.environ.get("PORT", "8080")),
        # The leanest uvicorn: pure-Python h11, stdlib asyncio, no access log (we log per request).
        http="h11",
        loop="asyncio",
        lifespan="off",
        access_log=False,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
