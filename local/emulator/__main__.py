"""Run the emulator in the foreground: `python -m local.emulator --port 4010`."""

from __future__ import annotations

import argparse
import contextlib
import signal
import threading

from .server import LOOPBACK_HOSTS, start_emulator


def main(argv: list[str] | None = None) -> None:
    """Start the emulator, print its URL and serve until Ctrl-C or SIGTERM."""
    parser = argparse.ArgumentParser(prog="python -m local.emulator", description=__doc__)
    parser.add_argument(
        "--host", default="127.0.0.1", choices=LOOPBACK_HOSTS, help="loopback address only"
    )
    parser.add_argument("--port", type=int, default=4010, help="0 picks a free port")
    parser.add_argument("--verbose", action="store_true", help="log one line per request")
    args = parser.parse_args(argv)
    emulator = start_emulator(args.host, args.port, verbose=args.verbose)
    print(f"Bedrock emulator at {emulator.url}", flush=True)
    print(f"  export AWS_ENDPOINT_URL_BEDROCK_RUNTIME={emulator.url}", flush=True)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    with contextlib.suppress(KeyboardInterrupt):
        stopped.wait()
    emulator.stop()


if __name__ == "__main__":
    main()
