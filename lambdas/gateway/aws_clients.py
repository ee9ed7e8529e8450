"""Every AWS client of the process comes from one boto3 session, made on first use.

A session loads its configuration, credentials chain and endpoint data once: a second client
from the same session costs about a third of one from a new session (the DynamoDB client of a
budgeted team: ~30 ms instead of ~90 ms of a cold start on Python 3.14, bench/README.md).
Sessions are not thread-safe, so clients are made under a lock; the clients themselves are.
"""

from __future__ import annotations

import functools
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import boto3

_lock = threading.Lock()


@functools.cache
def _session() -> boto3.session.Session:
    import boto3

    return boto3.session.Session()


def new_client(service: str, **options: Any) -> Any:
    """A client of `service` from the process's one session (`options` as Session.client's)."""
    with _lock:
        return _session().client(service, **options)  # type: ignore[call-overload]
