"""POST /v1/responses: OpenAI's Responses API, served by the chat-completions pipeline.

A request is translated into a chat-completions body and validated by `parse_chat_request`,
so every chat rule applies unchanged (model resolution and team allow-lists, capabilities,
structured output, metering, fallbacks, budgets, streaming); the chat answer is then
reshaped into a Response object (or, streamed, into Responses events: responses_stream.py).

The gateway keeps no state. `store` is accepted and nothing is stored (the Response says
`"store": false`); `previous_response_id`, `conversation` and `item_reference` input items,
which would need stored responses, are refused with a 400 saying to send the whole
conversation in `input`; so are `background` and stored `prompt` templates.
Accepted and ignored, as they change nothing an answer from Bedrock could honour:
`parallel_tool_calls`, `metadata`, `user`, `safety_identifier`, `reasoning`, `truncation`,
`include`, `service_tier`, `stream_options`, `prompt_cache_key`, `prompt_cache_retention`,
`max_tool_calls` (it limits OpenAI's built-in tools, which are refused) and `text.verbosity`.
`reasoning` input items (a reasoning model's hidden thoughts) are skipped.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from typing import Any

from .chat_request import parse_chat_request
from .completions import chat_completion
from .errors import ApiError, invalid_field, invalid_request, object_with_model
from .exchange import Exchange
from .responses import JsonResponse, StreamResponse

# Fields that need responses stored by the server: refused by name, with the code to match.
_STATEFUL = {
    "previous_response_id": "previous_response_not_supported",
    "conversation": "conversation_not_supported",
}
_NO_STATE = (
    "this gateway keeps no state between requests: send the whole conversation in 'input' "
    "(earlier output items included) instead."
)
_ROLES = ("user", "assistant", "system", "developer")
_TEXT_PARTS = ("input_text", "output_text")
# How a chat message's parameter names map back to its input item's (see _responses_param).
_FUNCTION_CALL_PARAMS = {
    ".tool_calls[0].function.arguments": ".arguments",
    ".tool_calls[0].function.name": ".name",
    ".tool_calls[0].id": ".call_id",
}
_FINISHED = {
    "length": ("incomplete", "max_output_tokens"),
    "content_filter": ("incomplete", "content_filter"),
}


def create_response(exchange: Exchange) -> JsonResponse | StreamResponse:
    """Serve one Responses API request through the chat-completions pipeline."""
    body, _model = object_with_model(exchange.body)
    chat_body, sources = to_chat_body(body)
    try:
        answer = chat_completion(exchange, parse_chat_request(chat_body))
    except ApiError as error:
        raise _renamed(error, sources) from None
    base = envelope(body, exchange.request_id)
    if isinstance(answer, StreamResponse):
        # Imported here: only a streamed request needs it.
        from .responses_stream import ResponseEvents

        return StreamResponse(ResponseEvents(answer.chunks, base), answer.headers)
    return JsonResponse(response_body(answer.body, base), answer.headers, answer.status)


# --- the request ---------------------------------------------------------------------------


def to_chat_body(body: Mapping[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The chat-completions body of a Responses request, and where each message came from.

    The second value names, for each chat message in order, its Responses parameter and kind
    ("text", "message", "function_call" or "function_call_output"), to rename errors back.
    """
    for name, code in _STATEFUL.items():
        if body.get(name) is not None:
            raise invalid_request(f"'{name}' is not supported: {_NO_STATE}", param=name, code=code)
    if body.get("background"):
        raise invalid_request(
            "'background' is not supported: it needs stored responses to poll, and " + _NO_STATE,
            param="background",
            code="unsupported_parameter",
        )
    if body.get("prompt") is not None:
        raise invalid_request(
            "'prompt' (a prompt template stored at OpenAI) is not supported: send the "
            "instructions and input themselves.",
            param="prompt",
            code="unsupported_parameter",
        )
    messages: list[dict[str, Any]] = []
    sources: list[tuple[str, str]] = []
    instructions = body.get("instructions")
    if instructions is not None:
        if not isinstance(instructions, str):
            raise invalid_field("instructions", "a string", instructions)
        if instructions.strip():
            messages.append({"role": "system", "content": instructions})
            sources.append(("instructions", "text"))
    _add_input(body.get("input"), messages, sources)
    chat: dict[str, Any] = {"model": body["model"], "messages": messages}
    for name in ("temperature", "top_p", "top_logprobs", "stream"):
        if name in body:
            chat[name] = body[name]
    if "max_output_tokens" in body:
        chat["max_tokens"] = body["max_output_tokens"]
    if body.get("stream") is True:
        # The last chat chunk then carries the usage that response.completed reports.
        chat["stream_options"] = {"include_usage": True}
    # The Responses API takes an empty list for "no tools" (the Agents SDK sends one).
    if body.get("tools") not in (None, []):
        chat["tools"] = _chat_tools(body["tools"])
    if body.get("tool_choice") is not None:
        chat["tool_choice"] = _chat_tool_choice(body["tool_choice"])
    response_format = _response_format(body.get("text"))
    if response_format is not None:
        chat["response_format"] = response_format
    if body.get("knowledge_base") is not None:
        # The gateway's grounded-answer extension, as on chat completions.
        chat["knowledge_base"] = body["knowledge_base"]
    return chat, sources


def _add_input(
    value: object, messages: list[dict[str, Any]], sources: list[tuple[str, str]]
) -> None:
    if isinstance(value, str):
        messages.append({"role": "user", "content": value})
        sources.append(("input", "text"))
        return
    if not isinstance(value, list) or not value:
        raise invalid_field("input", "a string or a non-empty list of input items", value)
    for index, item in enumerate(value):
        param = f"input[{index}]"
        if not isinstance(item, dict):
            raise invalid_field(param, "an input item (object)", item)
        kind = item.get("type", "message")
        if kind == "message":
            messages.append(_chat_message(item, param))
        elif kind == "function_call":
            call = {
                "id": item.get("call_id"),
                "type": "function",
                "function": {"name": item.get("name"), "arguments": item.get("arguments")},
            }
            messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
        elif kind == "function_call_output":
            output = _tool_output(item.get("output"), param)
            messages.append(
                {"role": "tool", "tool_call_id": item.get("call_id"), "content": output}
            )
        elif kind == "reasoning":
            continue  # a reasoning model's own thoughts: nothing another model can use
        elif kind == "item_reference":
            raise invalid_request(
                f"'{param}' is an item_reference, which is not supported: {_NO_STATE} "
                "(with the Vercel AI SDK, set providerOptions.openai.store to false).",
                param=param,
                code="item_reference_not_supported",
            )
        else:
            raise invalid_field(
                f"{param}.type", "'message', 'function_call' or 'function_call_output'", kind
            )
        sources.append((param, str(kind)))


def _chat_message(item: Mapping[str, Any], param: str) -> dict[str, Any]:
    role = item.get("role")
    if role not in _ROLES:
        raise invalid_field(f"{param}.role", "one of " + ", ".join(_ROLES), role)
    content = item.get("content")
    if isinstance(content, list):
        content = [_chat_part(part, f"{param}.content[{i}]") for i, part in enumerate(content)]
    return {"role": role, "content": content}


def _chat_part(part: object, param: str) -> dict[str, Any]:
    kind = part.get("type") if isinstance(part, dict) else None
    if kind in _TEXT_PARTS:
        return {"type": "text", "text": _field(part, "text")}
    if kind == "refusal":
        # A refusal replayed from an earlier answer: it was the assistant's text.
        return {"type": "text", "text": _field(part, "refusal")}
    if kind == "input_image":
        url = _field(part, "image_url")
        if url is None:
            raise invalid_field(
                f"{param}.image_url",
                "a data URL (file_id needs OpenAI's file storage, which this gateway lacks)",
                url,
            )
        return {"type": "image_url", "image_url": {"url": url}}
    raise invalid_field(f"{param}.type", "'input_text', 'output_text' or 'input_image'", kind)


def _tool_output(value: object, param: str) -> object:
    """A function_call_output's output as chat tool content: a string (text parts joined)."""
    if not isinstance(value, list):
        return value  # a string, or whatever the chat parser refuses by name
    texts: list[str] = []
    for index, part in enumerate(value):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind != "input_text":
            raise invalid_field(f"{param}.output[{index}].type", "'input_text'", kind)
        texts.append(str(_field(part, "text") or ""))
    return "\n".join(texts)


def _chat_tools(value: object) -> object:
    if not isinstance(value, list):
        return value  # refused by the chat parser, as 'tools'
    tools: list[dict[str, Any]] = []
    for index, tool in enumerate(value):
        kind = tool.get("type") if isinstance(tool, dict) else None
        if not isinstance(tool, dict) or kind != "function":
            raise invalid_request(
                f"'tools[{index}]' has type {kind!r}, which is not supported: this gateway "
                "serves only 'function' tools (OpenAI's built-in tools run on OpenAI's "
                "servers).",
                param=f"tools[{index}].type",
                code="unsupported_tool_type",
            )
        function = {
            key: tool[key]
            for key in ("name", "description", "parameters", "strict")
            if tool.get(key) is not None
        }
        tools.append({"type": "function", "function": function})
    return tools


def _chat_tool_choice(value: object) -> object:
    if isinstance(value, dict):
        if value.get("type") != "function":
            raise invalid_field(
                "tool_choice",
                "'auto', 'required', 'none' or {'type': 'function', 'name': ...}",
                value.get("type"),
            )
        return {"type": "function", "function": {"name": value.get("name")}}
    return value


def _response_format(text: object) -> object:
    if text is None:
        return None
    if not isinstance(text, dict):
        raise invalid_field("text", "an object with 'format'", text)
    fmt = text.get("format")
    if not isinstance(fmt, dict) or fmt.get("type") != "json_schema":
        return fmt
    keys = ("name", "schema", "strict", "description")
    return {"type": "json_schema", "json_schema": {k: fmt[k] for k in keys if k in fmt}}


def _field(value: object, key: str) -> object:
    return value.get(key) if isinstance(value, dict) else None


# --- errors, in the Responses API's parameter names -----------------------------------------


def _renamed(error: ApiError, sources: Sequence[tuple[str, str]]) -> ApiError:
    """The error with its chat parameter renamed to the one the client sent."""
    if error.param is None:
        return error
    param = _responses_param(error.param, sources)
    if param == error.param:
        return error
    return ApiError(
        error.status,
        error.message.replace(f"'{error.param}'", f"'{param}'"),
        type_=error.type,
        code=error.code,
        param=param,
        headers=error.headers,
    )


def _responses_param(param: str, sources: Sequence[tuple[str, str]]) -> str:
    message = re.fullmatch(r"messages\[(\d+)\](.*)", param)
    if message is not None and int(message[1]) < len(sources):
        source, kind = sources[int(message[1])]
        rest = message[2]
        if kind == "text":
            return source
        if kind == "function_call":
            return source + _FUNCTION_CALL_PARAMS.get(rest, "")
        if kind == "function_call_output":
            return source + (".call_id" if rest == ".tool_call_id" else ".output")
        # An input_image's URL is the part's own `image_url` string, not an object's `url`.
        return source + (rest.removesuffix(".url") if rest.endswith(".image_url.url") else rest)
    tool = re.fullmatch(r"tools\[(\d+)\]\.function(.*)", param)
    if tool is not None:
        return f"tools[{tool[1]}]{tool[2]}"
    renames = {
        "messages": "input",
        "max_tokens": "max_output_tokens",
        "tool_choice.function.name": "tool_choice.name",
        "response_format": "text.format",
    }
    if param in renames:
        return renames[param]
    for old, new in (
        ("response_format.json_schema", "text.format"),
        ("response_format", "text.format"),
    ):
        if param.startswith(old + "."):
            return new + param[len(old) :]
    return param


# --- the answer -----------------------------------------------------------------------------


def envelope(body: Mapping[str, Any], request_id: str) -> dict[str, Any]:
    """The Response object's fields that do not depend on the answer (the request echoed)."""
    text = body.get("text")
    fmt = text.get("format") if isinstance(text, dict) else None
    return {
        "id": f"resp_{request_id}",
        "object": "response",
        "created_at": int(time.time()),
        "status": "in_progress",
        "background": False,
        "error": None,
        "incomplete_details": None,
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "model": body["model"],
        "output": [],
        "parallel_tool_calls": body.get("parallel_tool_calls") is not False,
        "previous_response_id": None,
        "reasoning": None,
        "store": False,
        "temperature": body.get("temperature"),
        "text": {"format": fmt if isinstance(fmt, dict) else {"type": "text"}},
        "tool_choice": body.get("tool_choice") or "auto",
        "tools": body.get("tools") or [],
        "top_p": body.get("top_p"),
        "truncation": "disabled",
        "usage": None,
        "user": body.get("user"),
        "metadata": body.get("metadata") or {},
    }


def response_body(chat: Mapping[str, Any], base: Mapping[str, Any]) -> dict[str, Any]:
    """A whole Response object from a chat.completion body."""
    choice = chat["choices"][0]
    message = choice["message"]
    status, incomplete = finished(choice.get("finish_reason"))
    tool_calls = message.get("tool_calls") or []
    output: list[dict[str, Any]] = []
    if message.get("content") or not tool_calls:
        item_status = "incomplete" if incomplete else "completed"
        output.append(message_item(base, 0, message.get("content") or "", item_status))
    output.extend(
        function_call_item(call["id"], call["function"]["name"], call["function"]["arguments"])
        for call in tool_calls
    )
    return {
        **base,
        "model": chat["model"],
        "status": status,
        "incomplete_details": incomplete,
        "output": output,
        "usage": response_usage(chat["usage"]),
        **grounding_fields(chat),
    }


def grounding_fields(chat: Mapping[str, Any]) -> dict[str, Any]:
    """A grounded answer's extension fields (citations, knowledge base), if it has them."""
    return {name: chat[name] for name in ("citations", "knowledge_base") if name in chat}


def finished(finish_reason: object) -> tuple[str, dict[str, str] | None]:
    """A Response's status and incomplete_details for a chat finish_reason."""
    status, reason = _FINISHED.get(str(finish_reason), ("completed", None))
    return status, {"reason": reason} if reason is not None else None


def message_item(
    base: Mapping[str, Any], number: int, text: str, status: str = "completed"
) -> dict[str, Any]:
    """An output message item holding one output_text part."""
    return {
        "type": "message",
        "id": message_id(base, number),
        "role": "assistant",
        "status": status,
        "content": [output_text(text)],
    }


def message_id(base: Mapping[str, Any], number: int) -> str:
    """The id of the response's `number`th message item (derived from the response id)."""
    stem = "msg_" + str(base["id"]).removeprefix("resp_")
    return stem if number == 0 else f"{stem}_{number}"


def output_text(text: str) -> dict[str, Any]:
    """An output_text content part."""
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def function_call_item(
    call_id: str, name: str, arguments: str, status: str = "completed"
) -> dict[str, Any]:
    """A function_call output item; `call_id` is what the function_call_output answers."""
    return {
        "type": "function_call",
        "id": f"fc_{call_id}",
        "call_id": call_id,
        "name": name,
        "arguments": arguments,
        "status": status,
    }


def response_usage(usage: Mapping[str, Any]) -> dict[str, Any]:
    """The Responses usage object of a chat usage object (no cache or reasoning counts)."""
    input_tokens = int(usage.get("prompt_tokens", 0))
    output_tokens = int(usage.get("completion_tokens", 0))
    answer = {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": int(usage.get("total_tokens", input_tokens + output_tokens)),
    }
    if "retrieval_tokens" in usage:
        answer["retrieval_tokens"] = usage["retrieval_tokens"]
    return answer
