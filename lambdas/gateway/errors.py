"""OpenAI-shaped API errors: every failure a client sees is one of these, never a traceback."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class ApiError(Exception):
    """An error answered to the client as `{"error": {...}}` with an HTTP status."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type_: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type_
        self.code = code
        self.param = param
        self.headers: Mapping[str, str] = headers or {}

    def body(self) -> dict[str, Any]:
        """Return the OpenAI error body."""
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }


def invalid_request(message: str, *, param: str | None = None, code: str | None = None) -> ApiError:
    """Return a 400 for a request the client must fix."""
    return ApiError(400, message, param=param, code=code)


def invalid_field(param: str, expectation: str, value: object) -> ApiError:
    """Return a 400 naming the field, what it must be and (briefly) what it was."""
    shown = type(value).__name__ if not isinstance(value, str | int | float | bool) else repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return ApiError(400, f"'{param}' must be {expectation}, got {shown}", param=param)


def object_with_model(body: object) -> tuple[dict[str, Any], str]:
    """A POST body's first check: a JSON object naming a model; return it and the model."""
    if not isinstance(body, dict):
        raise invalid_request("The request body must be a JSON object.")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise invalid_field("model", "a model id or alias (string)", model)
    return body, model
