"""The gateway's framework-free core: route, authenticate, run the handler, answer, log once.

Transports are thin: the ASGI app (app.py: uvicorn locally and behind the Web Adapter) and the
Lambda handler (lambda_handler.py: API Gateway's proxy event, no HTTP hop) open a `Call` with
the request line and headers, hand it the body when it asks for one, send what it answers and
call `finish`, which writes the request's one record. Synchronous, with no asyncio, so the
Lambda handler imports nothing it does not use.
"""

from __future__ import annotations

import functools
import hmac
import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from .budgets import Budgets
from .calls import Budget, ClientPool
from .errors import ApiError
from .events import DONE, sse
from .exchange import Exchange
from .metering import RequestRecord, Usage, new_request_id, write_record
from .request_body import MAX_BODY_BYTES, decode_json
from .responses import JsonResponse, RawResponse, Response, StreamResponse
from .router import Body, Match, Router
from .routes import Handler, routes
from .settings import AuthMode, Settings
from .stream_slots import DynamoStreamSlots, MemoryStreamSlots, StreamSlots
from .team_access import TeamAccess
from .teams import ANONYMOUS, Caller, caller_from_context
from .usage_store import DynamoUsageStore, MemoryUsageStore, UsageStore

if TYPE_CHECKING:
    from mypy_boto3_bedrock_runtime import BedrockRuntimeClient
    from mypy_boto3_dynamodb import DynamoDBClient

Headers = Sequence[tuple[bytes, bytes]]
INTERNAL_ERROR = ApiError(500, "Internal error in the gateway.", type_="api_error")
# Health checks (the Web Adapter's readiness probe) are not requests worth a log line.
_UNLOGGED_PATHS = frozenset({"/health"})
# What API Gateway's request context (REST API proxy payload 1.0, also what the Web Adapter
# forwards as `x-amzn-request-context`) always carries: non-empty strings, and an identity.
_STAGE_CONTEXT_STRINGS = ("requestId", "apiId", "stage")
# The stage of the console's "Test" (TestInvokeMethod): no key, no quota, no access log.
TEST_INVOKE_STAGE = "test-invoke-stage"


class Gateway:
    """Settings, routes and Bedrock clients shared by every request of a process."""

    def __init__(
        self,
        settings: Settings,
        client_factory: Callable[[], BedrockRuntimeClient] | None = None,
        usage_store: UsageStore | None = None,
    ) -> None:
        self.settings = settings
        # Teams' monthly usage and stream slots: DynamoDB when deployed, memory locally.
        dynamodb = _dynamodb_client_factory(settings)
        self.budgets = Budgets(usage_store or _usage_store(settings, dynamodb))
        self.stream_slots: StreamSlots = (
            DynamoStreamSlots(settings.usage_table, dynamodb, settings.stream_lease_seconds)
            if settings.usage_table is not None
            else MemoryStreamSlots(settings.stream_lease_seconds)
        )
        if client_factory is not None:
            injected = client_factory
            self.clients = ClientPool(lambda _timeout: injected())
        else:
            self.clients = ClientPool(lambda timeout: _default_client(settings, timeout))
        self.retrieval_clients: ClientPool[Any] = ClientPool(
            lambda timeout: _service_client("bedrock-agent-runtime", settings, timeout)
        )
        self.sagemaker_clients: ClientPool[Any] = ClientPool(
            lambda timeout: _service_client("sagemaker-runtime", settings, timeout)
        )
        self.router: Router[Handler] = Router(routes())

    def begin(
        self, method: str, raw_path: str, headers: Headers, request_context: object = None
    ) -> Call:
        """Open one request: match its route and check its caller (key or API Gateway stage)."""
        return Call(self, method, raw_path, headers, request_context)


class Call:
    """One request, from routing to its single log line."""

    def __init__(
        self,
        gateway: Gateway,
        method: str,
        raw_path: str,
        headers: Headers,
        request_context: object = None,
    ) -> None:
        self.started = time.perf_counter()
        self._gateway = gateway
        self._method = method
        path = unquote(raw_path.split("?", 1)[0])
        # Whether `finish` still has its accounting and log line to do (health checks: never).
        self._pending = path not in _UNLOGGED_PATHS
        self.record = RequestRecord(
            request_id=new_request_id(),
            method=method,
            path=path[:200],
            namespace=gateway.settings.metrics_namespace,
        )
        self._origin = _header(headers, b"origin")
        self._preflight: list[tuple[str, str]] | None = None
        if method == "OPTIONS" and _header(headers, b"access-control-request-method"):
            requested = _header(headers, b"access-control-request-headers") or ""
            names = [name.strip() for name in requested.split(",") if name.strip()]
            self._preflight = gateway.settings.cors.preflight_headers(self._origin, names)
        self._exchange: Exchange | None = None
        self._stream: StreamResponse | None = None
        self._payload: bytes | None = None
        self._match: Match[Handler] | None = None
        self._refused: ApiError | None = None
        self.caller = ANONYMOUS
        self._access = TeamAccess()
        if self._preflight is not None:
            # A browser's CORS preflight: answered for an allowed origin, never logged or keyed.
            self._pending = False
            return
        try:
            self._match = gateway.router.match(method, raw_path)
        except ApiError as error:
            self._refused = error
        # A key is asked only where a route wants one (a wrong path is a 404 with or without
        # it); behind API Gateway, a request that skipped the stage gets its 403 on any path.
        if self._match is not None:
            checked = self._match.route.authenticated
        else:
            checked = gateway.settings.auth_mode is AuthMode.API_GATEWAY
        if checked:
            try:
                self.caller = _authenticate(gateway.settings, headers, request_context)
                policy = gateway.settings.teams.get(self.caller)
                self._access = TeamAccess(policy, gateway.budgets, gateway.stream_slots)
            except ApiError as error:
                self._refused = error
        self.record.team = self.caller.team
        self.record.key_id = self.caller.key_id
        self.record.principal = self.caller.principal

    @property
    def body_kind(self) -> Body:
        """How the route reads its body (NONE once refused: the body is never read)."""
        if self._match is None or self._refused is not None:
            return Body.NONE
        return self._match.route.body

    def refuse(self, error: ApiError) -> None:
        """Record that the transport could not read the request (size, disconnect)."""
        self._refused = error

    def respond(self, body: bytes | None = None) -> Response:
        """Run the route's handler on the body; any failure becomes its error response."""
        try:
            if self._preflight is not None:
                return RawResponse(b"", "text/plain", dict(self._preflight), status=204)
            if self._refused is not None:
                raise self._refused
            assert self._match is not None
            self._exchange = self._new_exchange(self._match, body)
            response = self._match.route.handler(self._exchange)
            if isinstance(response, StreamResponse):
                self._stream = response
            return response
        except RecursionError:
            # Only a client's deeply nested JSON recurses this far.
            return self._error(
                ApiError(400, "The request body is nested too deeply.", code="invalid_json")
            )
        except ApiError as error:
            return self._error(error)
        except Exception:  # noqa: BLE001 - a bug answers 500, logged, never a traceback
            return self.fail()

    def fail(self) -> JsonResponse:
        """The answer to a bug (call inside `except`): logged with its traceback, a plain 500."""
        _log_exception("unhandled error in %s %s", self._method, self.record.path)
        self.record.error_code = "internal_error"
        return _error_response(INTERNAL_ERROR)

    def head(self, response: Response) -> tuple[int, list[tuple[str, str]]]:
        """Status and headers of the answer; a stream's latency is its time to first byte."""
        if isinstance(response, StreamResponse):
            self.record.status, self.record.streamed = 200, True
            headers = [
                ("content-type", "text/event-stream; charset=utf-8"),
                ("cache-control", "no-cache"),
            ]
        else:
            self.record.status = response.status
            headers = [
                ("content-type", _content_type(response)),
                ("content-length", str(len(self.payload(response)))),
            ]
        headers.extend(response.headers.items())
        if self._preflight is None:
            headers.extend(self.cors_headers())
        headers.append(("x-request-id", self.record.request_id))
        latency_ms = (time.perf_counter() - self.started) * 1000
        headers.append(("x-gateway-latency-ms", f"{latency_ms:.1f}"))
        return self.record.status, headers

    def cors_headers(self) -> list[tuple[str, str]]:
        """The CORS headers every answer to this request carries (none for other origins)."""
        return self._gateway.settings.cors.answer_headers(self._origin)

    def payload(self, response: JsonResponse | RawResponse) -> bytes:
        """The body bytes of a buffered answer (encoded once, whatever asks first)."""
        if isinstance(response, RawResponse):
            return response.body
        if self._payload is None:
            self._payload = json.dumps(response.body, separators=(",", ":")).encode()
        return self._payload

    def body_to_send(self, response: JsonResponse | RawResponse) -> bytes:
        """What goes on the wire after the head: nothing for HEAD."""
        return b"" if self._method == "HEAD" else self.payload(response)

    def chunks(self, response: StreamResponse) -> Iterator[bytes]:
        """The stream's events; if producing them fails, an error event and [DONE] end it."""
        try:
            yield from response.chunks
        except Exception:  # noqa: BLE001 - the stream must end well whatever broke
            _log_exception("stream failed for %s", self.record.path)
            self.record.stream_error_status = 500
            self.record.error_code = self.record.error_code or "internal_error"
            yield sse(INTERNAL_ERROR.body())
            yield DONE

    def finish(self) -> None:
        """Close the request's stream, charge its team, free its slot, write its record (once).

        Transports call it before the answer's last byte where they can: the Web Adapter ends
        the invocation with the response, and Lambda may freeze whatever runs after it.
        """
        if not self._pending:
            return
        self._pending = False
        if self._stream is not None:
            # A stream read to its end is closed already; one cut short (or never read) is
            # closed here, so its model stream ends and its usage lands on the meter first.
            close = getattr(self._stream.chunks, "close", None)
            if close is not None:
                try:
                    close()
                except Exception:  # noqa: BLE001 - the accounting below must still happen
                    _log_exception("closing the stream of %s failed", self.record.path)
        record, exchange = self.record, self._exchange
        if exchange is not None:
            meter = exchange.meter
            if meter.target is not None:
                record.model = meter.target.spec.model_id
                record.invocation_id = meter.target.invocation_id
            record.usage, record.cost_usd = meter.usage, meter.cost
            record.fallbacks = meter.fallbacks
            record.content = exchange.content
            record.guardrail = exchange.guardrail_name
            record.guardrail_action = exchange.guardrail_outcome
            if exchange.stream_error is not None:
                record.stream_error_status = exchange.stream_error.status
                record.error_code = exchange.stream_error.code or exchange.stream_error.type
            if meter.calls:
                self._charge(meter.usage, meter.cost)
        self._release_stream()
        record.latency_ms = (time.perf_counter() - self.started) * 1000
        write_record(record)

    def _release_stream(self) -> None:
        try:
            self._access.release_stream()
        except Exception:  # noqa: BLE001 - the slot's lease expires on its own
            _log_exception("could not release a stream slot of team %s", self.caller.team)

    def _charge(self, usage: Usage, cost: Decimal) -> None:
        """Add the request's usage to its team's month; a failure is logged, never raised."""
        try:
            charge = self._access.charge(usage, cost)
        except Exception:  # noqa: BLE001 - the answer is sent; the line must still be written
            _log_exception("could not charge team %s for %s", self.caller.team, self.record.path)
            self.record.budget_charge_failed = True
            return
        if charge is not None and charge.soft_limit_crossed:
            self.record.budget_soft_alert = True

    def _new_exchange(self, match: Match[Handler], raw: bytes | None) -> Exchange:
        body: object = None
        if match.route.body is not Body.NONE:
            raw = raw or b""
            if len(raw) > MAX_BODY_BYTES:
                raise ApiError(
                    413,
                    f"The request body exceeds {MAX_BODY_BYTES} bytes.",
                    code="request_too_large",
                )
            body = raw if match.route.body is Body.RAW else decode_json(raw)
        settings = self._gateway.settings
        return Exchange(
            request_id=self.record.request_id,
            body=body,
            params=match.params,
            routing=settings.routing,
            budget=Budget(settings.time_budget_seconds),
            clients=self._gateway.clients,
            attempts_per_model=settings.bedrock_max_attempts,
            log_content=settings.log_content,
            write=write_record,
            namespace=settings.metrics_namespace,
            access=self._access,
            knowledge_bases=settings.knowledge_bases,
            retrieval_clients=self._gateway.retrieval_clients,
            guardrails=settings.guardrails,
            sagemaker_clients=self._gateway.sagemaker_clients,
        )

    def _error(self, error: ApiError) -> JsonResponse:
        self.record.error_code = error.code or error.type
        return _error_response(error)


def _error_response(error: ApiError) -> JsonResponse:
    return JsonResponse(error.body(), dict(error.headers), status=error.status)


def _content_type(response: JsonResponse | RawResponse) -> str:
    return response.content_type if isinstance(response, RawResponse) else "application/json"


def _authenticate(settings: Settings, headers: Headers, request_context: object) -> Caller:
    """Who is calling: from API Gateway's context, or the key the request presents (local)."""
    if settings.auth_mode is AuthMode.API_GATEWAY:
        # The authorizer (or IAM) authenticated the caller before invoking the function.
        _require_stage(request_context)
        caller = settings.teams.identify(caller_from_context(request_context))
        if settings.require_team and caller.team is None:
            # Fail closed: a caller without a team would skip every team's rules.
            who = f" ({caller.principal})" if caller.principal else ""
            raise ApiError(
                403,
                f"The caller{who} belongs to no team of this deployment: API key callers get "
                "theirs from the key, SigV4 callers from a team's iam_principals.",
                type_="permission_error",
                code="no_team",
            )
        return caller
    presented = _presented_key(headers)
    if presented is None:
        raise ApiError(
            401,
            "Missing API key: send 'Authorization: Bearer <key>' or 'x-api-key: <key>'.",
            code="invalid_api_key",
        )
    found: Caller | None = None
    # Every key is compared, in constant time each, so timing says nothing about which matched.
    for key, caller in settings.api_keys.items():
        if hmac.compare_digest(presented.encode(), key.encode()):
            found = caller
    if found is None:
        raise ApiError(401, "Invalid API key.", code="invalid_api_key")
    return found


def _require_stage(context: object) -> None:
    """Refuse a request that did not come through the API's stage: a direct or test invocation."""
    # Residual risk: whoever may call lambda:InvokeFunction can forge this context, so the check
    # turns a casual bypass (an invoke or a console test, skipping keys, quotas and access logs)
    # into a logged 403. The control that keeps callers off the function is IAM: only API
    # Gateway's resource-based permission and no broad lambda:InvokeFunction grants (threat model).
    if (
        isinstance(context, Mapping)
        and all(_non_empty_string(context.get(name)) for name in _STAGE_CONTEXT_STRINGS)
        and isinstance(context.get("identity"), Mapping)
        and context["stage"] != TEST_INVOKE_STAGE
    ):
        return
    raise ApiError(
        403,
        "The gateway only answers requests that come through its API Gateway stage.",
        type_="permission_error",
        code="not_through_api_gateway",
    )


def _non_empty_string(value: object) -> bool:
    return isinstance(value, str) and value != ""


def _header(headers: Headers, name: bytes) -> str | None:
    """The first value of a header (names arrive lower-cased from both transports)."""
    for key, value in headers:
        if key == name:
            return value.decode("latin-1")
    return None


def _presented_key(headers: Headers) -> str | None:
    for name, value in headers:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
        elif name == b"x-api-key" and value:
            return value.decode("latin-1")
    return None


def _log_exception(message: str, *args: object) -> None:
    import logging

    logging.getLogger(__name__).exception(message, *args)


def _dynamodb_client_factory(settings: Settings) -> Callable[[], DynamoDBClient]:
    """One DynamoDB client per process, made on first use (never for a gateway without teams)."""

    @functools.cache
    def client() -> DynamoDBClient:
        from botocore.config import Config

        from .aws_clients import new_client

        # Short timeouts: a budget check waits on DynamoDB before every budgeted model call.
        config = Config(
            connect_timeout=1, read_timeout=2, retries={"mode": "standard", "total_max_attempts": 2}
        )
        dynamodb: DynamoDBClient = new_client(
            "dynamodb", region_name=settings.region, config=config
        )
        return dynamodb

    return client


def _usage_store(settings: Settings, dynamodb: Callable[[], DynamoDBClient]) -> UsageStore:
    if settings.usage_table is None:
        return MemoryUsageStore()
    return DynamoUsageStore(settings.usage_table, dynamodb)


def _default_client(settings: Settings, read_timeout: int) -> BedrockRuntimeClient:
    from .bedrock import create_client

    return create_client(settings, read_timeout)


def _service_client(service: str, settings: Settings, read_timeout: int) -> Any:
    from .bedrock import create_service_client

    return create_service_client(service, settings, read_timeout)
