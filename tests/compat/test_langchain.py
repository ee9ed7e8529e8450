"""LangChain's ChatOpenAI and OpenAIEmbeddings (langchain-openai) against the local gateway."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from tests.compat.conftest import API_KEY
from tests.e2e.conftest import LocalGateway

langchain_openai = pytest.importorskip(
    "langchain_openai", reason="langchain-openai is not installed (requirements-compat.txt)"
)
messages = pytest.importorskip(
    "langchain_core.messages", reason="langchain-core is not installed (requirements-compat.txt)"
)
tools = pytest.importorskip("langchain_core.tools")

pytestmark = pytest.mark.e2e

TIMEOUT = 30


class City(BaseModel):
    name: str
    population: int


def chat(gateway: LocalGateway, model: str = "fast", **options: object) -> object:
    return langchain_openai.ChatOpenAI(
        model=model,
        base_url=gateway.base_url,
        api_key=API_KEY,
        timeout=TIMEOUT,
        max_retries=0,
        **options,
    )


def test_invoke_returns_text(compat_gateway: LocalGateway) -> None:
    reply = chat(compat_gateway).invoke("Name a colour of the sky.")
    assert isinstance(reply, messages.AIMessage)
    assert isinstance(reply.content, str) and reply.content.strip()
    assert reply.usage_metadata is not None and reply.usage_metadata["input_tokens"] > 0


def test_stream_yields_text_and_usage(compat_gateway: LocalGateway) -> None:
    chunks = list(chat(compat_gateway, stream_usage=True).stream("Count to three."))
    assert len(chunks) > 1
    text = "".join(chunk.content for chunk in chunks if isinstance(chunk.content, str))
    assert text.strip()
    usage = [chunk.usage_metadata for chunk in chunks if chunk.usage_metadata]
    assert usage, "stream_usage=True: the last chunk carries usage"
    assert usage[-1]["input_tokens"] > 0 and usage[-1]["output_tokens"] > 0


@tools.tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return "sunny, 21 C"


@tools.tool
def clear_cache(city: str) -> str:
    """Clear the cache of a city; returns nothing."""
    return ""


@pytest.mark.parametrize("tool", [get_weather, clear_cache], ids=["text", "empty-result"])
def test_bind_tools_round_trip(compat_gateway: LocalGateway, tool: object) -> None:
    model = chat(compat_gateway).bind_tools([tool], tool_choice="required")
    history: list[object] = [messages.HumanMessage("Use the tool for Paris.")]
    first = model.invoke(history)
    assert first.tool_calls, first
    call = first.tool_calls[0]
    assert call["name"] == tool.name
    assert "city" in call["args"]
    result = tool.invoke(call["args"])
    history += [first, messages.ToolMessage(content=result, tool_call_id=call["id"])]
    final = chat(compat_gateway).bind_tools([tool]).invoke(history)
    assert isinstance(final, messages.AIMessage)
    assert not final.tool_calls
    assert isinstance(final.content, str) and final.content.strip()


@pytest.mark.parametrize(
    "model",
    ["balanced", "fast"],
    ids=["native-structured-output", "forced-tool"],
)
def test_with_structured_output_default_method(compat_gateway: LocalGateway, model: str) -> None:
    structured = chat(compat_gateway, model).with_structured_output(City)
    city = structured.invoke("Give me a city and its population.")
    assert isinstance(city, City)
    assert city.name


def test_with_structured_output_json_mode(compat_gateway: LocalGateway) -> None:
    # json_mode sends response_format json_object (no schema): any JSON object is a valid answer,
    # and the emulator's is {}, so a JSON-schema dict (parsed into a dict) rather than City.
    schema = {"title": "City", "type": "object", "properties": {"name": {"type": "string"}}}
    structured = chat(compat_gateway, "balanced").with_structured_output(
        schema, method="json_mode", include_raw=True
    )
    result = structured.invoke("Reply with a JSON object with a key name (a city).")
    assert result["parsing_error"] is None
    assert isinstance(result["parsed"], dict)
    assert result["raw"].response_metadata["finish_reason"] == "stop"


def test_responses_api_invoke_returns_text(compat_gateway: LocalGateway) -> None:
    reply = chat(compat_gateway, use_responses_api=True).invoke("Name a colour of the sky.")
    assert isinstance(reply, messages.AIMessage)
    assert reply.text.strip()


def byte_level_encoding() -> object:
    """A tiktoken Encoding over single bytes: no BPE file to download."""
    import tiktoken

    return tiktoken.Encoding(
        name="byte-level",
        pat_str=r"""\S+|\s+""",
        mergeable_ranks={bytes([i]): i for i in range(256)},
        special_tokens={},
    )


def test_embeddings_defaults_send_token_ids_and_get_a_clear_400(
    compat_gateway: LocalGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    import openai
    import tiktoken

    # LangChain's default path tokenizes with tiktoken, whose BPE files are downloaded at first
    # use (no internet here): a byte-level encoding stands in; the ids still go out as ints.
    encoding = byte_level_encoding()
    monkeypatch.setattr(tiktoken, "encoding_for_model", lambda _name: encoding)
    monkeypatch.setattr(tiktoken, "get_encoding", lambda _name: encoding)
    embeddings = langchain_openai.OpenAIEmbeddings(
        model="embed", base_url=compat_gateway.base_url, api_key=API_KEY, max_retries=0
    )
    with pytest.raises(openai.BadRequestError, match="check_embedding_ctx_length=False") as error:
        embeddings.embed_query("A sentence to embed.")
    assert error.value.status_code == 400
    assert "token ids" in str(error.value)


def test_embeddings_without_ctx_length_check(compat_gateway: LocalGateway) -> None:
    embeddings = langchain_openai.OpenAIEmbeddings(
        model="embed",
        base_url=compat_gateway.base_url,
        api_key=API_KEY,
        max_retries=0,
        check_embedding_ctx_length=False,
    )
    vectors = embeddings.embed_documents(["first text", "second text"])
    assert len(vectors) == 2
    assert all(len(vector) == 1024 for vector in vectors)
    assert len(embeddings.embed_query("a query")) == 1024
