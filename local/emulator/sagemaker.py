"""SageMaker endpoints the emulator serves on sagemaker-runtime's wire protocol ("own models").

InvokeEndpoint and InvokeEndpointWithResponseStream reach a local endpoint's container
(sagemaker_chat), which speaks the OpenAI-style messages API of AWS's LMI container. SageMaker's
own checks (the endpoint exists and is in service) answer ValidationError; the container's
refusals come back as ModelError with the container's status and body, as SageMaker reports them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from .eventstream import CONTENT_TYPE
from .models import signed_region
from .sagemaker_chat import Refused, answer, chunk_lines, completion, parse_chat, payload_parts
from .sagemaker_wire import (
    DEFAULT_MESSAGES,
    STATUS_BY_CODE,
    PayloadStreamReply,
    SageMakerError,
    validation_error,
)
from .wire import Reply, json_reply

# The service model's EndpointName constraints.
NAME_PATTERN = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9])*")
MAX_NAME_CHARS = 63
# The service model's EndpointStatus values; only InService endpoints answer.
IN_SERVICE = "InService"
ENDPOINT_STATUSES = frozenset(
    {
        "OutOfService",
        "Creating",
        "Updating",
        "SystemUpdating",
        "RollingBack",
        "InService",
        "Deleting",
        "Failed",
        "UpdateRollbackFailed",
    }
)
# Emulator's choice: the account the endpoints belong to (AWS's documentation example).
ACCOUNT_ID = "123456789012"
# Emulator's choice: the production variant that answers (the console's default name).
VARIANT = "AllTraffic"
JSON_LINES = "application/jsonlines"


@dataclass(frozen=True, slots=True)
class LocalEndpoint:
    """One SageMaker endpoint: its name, the model label its answers give, and its status."""

    name: str
    model_name: str
    status: str = IN_SERVICE

    def __post_init__(self) -> None:
        if len(self.name) > MAX_NAME_CHARS or not NAME_PATTERN.fullmatch(self.name):
            raise ValueError(
                f"an endpoint name is 1-{MAX_NAME_CHARS} characters [a-zA-Z0-9-], starting and "
                f"ending with a letter or digit, not {self.name!r}"
            )
        if self.status not in ENDPOINT_STATUSES:
            raise ValueError(f"status must be a SageMaker EndpointStatus, not {self.status!r}")
        if not self.model_name:
            raise ValueError("an endpoint needs a model_name")


class EndpointStore:
    """The endpoints served, by name (read-only once built, so shared by handler threads)."""

    def __init__(self, endpoints: Sequence[LocalEndpoint]) -> None:
        by_name = {endpoint.name: endpoint for endpoint in endpoints}
        if len(by_name) != len(endpoints):
            raise ValueError("two SageMaker endpoints have the same name")
        self._by_name: Mapping[str, LocalEndpoint] = MappingProxyType(by_name)
        self.endpoints = tuple(endpoints)

    def get(self, name: str) -> LocalEndpoint | None:
        """Return the endpoint named `name`, if served."""
        return self._by_name.get(name)


@dataclass(frozen=True, slots=True)
class SageMakerRequest:
    """One routed sagemaker-runtime call: the endpoint name, the raw body, the endpoints."""

    operation: str
    endpoint_name: str
    raw_body: bytes
    # Header names are lower-cased.
    headers: Mapping[str, str]
    store: EndpointStore


SageMakerHandler = Callable[[SageMakerRequest], Reply]


def fault_defaults(code: str) -> tuple[int, str] | None:
    """Return the status and message of an injected SageMaker error, None for other codes."""
    status = STATUS_BY_CODE.get(code)
    return None if status is None else (status, DEFAULT_MESSAGES[code])


def _endpoint(request: SageMakerRequest) -> LocalEndpoint:
    """Return the endpoint called, or raise SageMaker's ValidationError."""
    endpoint = request.store.get(request.endpoint_name)
    if endpoint is None:
        # SageMaker's wording, as its clients report it.
        raise validation_error(
            f"Endpoint {request.endpoint_name} of account {ACCOUNT_ID} not found."
        )
    if endpoint.status != IN_SERVICE:
        # Emulator's choice: wording, and ValidationError for every status but InService.
        raise validation_error(
            f"Endpoint {endpoint.name} of account {ACCOUNT_ID} is not in service "
            f"(status {endpoint.status})."
        )
    return endpoint


def _model_error(refused: Refused, request: SageMakerRequest) -> SageMakerError:
    """Return the ModelError SageMaker answers when the container refuses a request."""
    region = signed_region(request.headers)
    group = f"/aws/sagemaker/Endpoints/{request.endpoint_name}"
    original = refused.body()
    kind = "client" if refused.status < 500 else "server"
    # SageMaker's wording ("primary" names the container); the log link is for its console.
    message = (
        f'Received {kind} error ({refused.status}) from primary with message "{original}". '
        f"See https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}"
        f"#logEventViewer:group={group} in account {ACCOUNT_ID} for more information."
    )
    return SageMakerError(
        "ModelError",
        message,
        fields={
            "OriginalStatusCode": refused.status,
            "OriginalMessage": original,
            "LogStreamArn": f"arn:aws:logs:{region}:{ACCOUNT_ID}:log-group:{group}",
        },
    )


def handle_invoke_endpoint(request: SageMakerRequest) -> Reply:
    """Serve `POST /endpoints/{EndpointName}/invocations`: one chat.completion."""
    endpoint = _endpoint(request)
    try:
        call = parse_chat(request.raw_body)
    except Refused as refused:
        raise _model_error(refused, request) from None
    reply = json_reply(completion(answer(call, endpoint.model_name)))
    return Reply(reply.status, reply.body, headers={"x-Amzn-Invoked-Production-Variant": VARIANT})


def handle_invoke_endpoint_stream(request: SageMakerRequest) -> Reply:
    """Serve `POST /endpoints/{EndpointName}/invocations-response-stream`: chunks as jsonlines.

    Emulator's choice: the operation streams whatever the body's "stream" says.
    """
    endpoint = _endpoint(request)
    try:
        call = parse_chat(request.raw_body)
    except Refused as refused:
        raise _model_error(refused, request) from None
    parts = payload_parts(chunk_lines(answer(call, endpoint.model_name)))
    return PayloadStreamReply(
        200,
        b"",
        content_type=CONTENT_TYPE,
        headers={
            "X-Amzn-SageMaker-Content-Type": JSON_LINES,
            "x-Amzn-Invoked-Production-Variant": VARIANT,
        },
        parts=parts,
        endpoint_name=endpoint.name,
    )
