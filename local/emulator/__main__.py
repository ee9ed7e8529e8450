"""Run the emulator in the foreground: `python -m local.emulator --port 4010`."""

from __future__ import annotations

import argparse
import contextlib
import signal
import threading

from .server import LOOPBACK_HOSTS, start_emulator


def main() -> None:
    """Start the emulator and wait for Ctrl-C."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", choices=LOOPBACK_HOSTS)
    parser.add_argument("--port", type=int, default=4010)
    args = parser.parse_args()
    emulator = start_emulator(args.host, args.port)
    print(f"Bedrock emulator at {emulator.url}")
    print(f"  export AWS_ENDPOINT_URL_BEDROCK_RUNTIME={emulator.url}")
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    with contextlib.suppress(KeyboardInterrupt):
        stopped.wait()
    emulator.stop()


if __name__ == "__main__":
    main()
