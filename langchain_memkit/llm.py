"""``LangChainExtractor``: a LangChain chat model as memkit's LLM (its extractor's model).

memkit's LLM extractor owns the prompt, the reading of the reply, the one repair call
and the reconciliation; it talks to its model through an OpenAI-SDK-shaped client
(``memkit.extract``). This module only supplies the function that answers from a
LangChain chat model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from memkit.config import LlmSettings
from memkit.extract import ChatFunction, ChatReply, FunctionClient, LlmExtractor

__all__ = ["LangChainExtractor"]

_MESSAGES = {"system": SystemMessage, "user": HumanMessage, "assistant": AIMessage}


def _chat_function(model: BaseChatModel, json_schema: bool) -> ChatFunction:
    def chat(
        messages: list[dict[str, Any]], response_format: Mapping[str, Any] | None
    ) -> ChatReply:
        runnable: Any = model
        if json_schema and response_format is not None:
            runnable = model.bind(response_format=dict(response_format))
        reply = runnable.invoke([_MESSAGES[m["role"]](content=m["content"]) for m in messages])
        usage = getattr(reply, "usage_metadata", None) or {}
        return ChatReply(
            content=reply.text,
            prompt_tokens=usage.get("input_tokens"),
            completion_tokens=usage.get("output_tokens"),
        )

    return chat


class LangChainExtractor(LlmExtractor):
    """memkit's LLM extraction, answered by a LangChain chat model you already configured.

    The prompt asks for JSON and memkit checks (and once repairs) the answer, so any chat
    model works. ``json_schema=True`` also passes memkit's strict JSON schema as the
    OpenAI ``response_format`` (ChatOpenAI and OpenAI-compatible models).
    ``enable_vision=True`` says the model reads images: image parts of the messages then
    reach it as OpenAI-format image blocks (otherwise ``add`` refuses them).

    Instantiate (``init_chat_model("anthropic:claude-sonnet-4-5")`` in place of the
    scripted model, which answers with memkit's JSON plan):

    >>> import json
    >>> from memkit import Memory
    >>> from langchain_memkit import LangChainExtractor
    >>> from langchain_memkit.testing import ScriptedChatModel
    >>> fact = {"event": "ADD", "source": 1, "text": "Lives in Lisbon", "target": None,
    ...         "categories": ["personal_details"]}
    >>> model = ScriptedChatModel(messages=iter([json.dumps({"memories": [fact], "forget": []})]))
    >>> memory = Memory(extractor=LangChainExtractor(model))

    Add / Search:

    >>> _ = memory.add("I moved to Lisbon last month", user_id="alex")   # one model call
    >>> len(model.calls)
    1
    >>> memory.search("where does alex live?", user_id="alex").results[0].memory
    'Lives in Lisbon'

    Failures: an error of the model's client (after its own retries) becomes
    ``ExtractionError``, with the messages kept for ``Memory.replay``, as for the OpenAI SDK.
    """

    def __init__(
        self,
        model: BaseChatModel,
        *,
        categories: Mapping[str, str] | Sequence[str] | None = None,
        custom_instructions: str | None = None,
        json_schema: bool = False,
        enable_vision: bool = False,
    ) -> None:
        name = getattr(model, "model_name", None) or getattr(model, "model", None)
        settings = LlmSettings(
            model=name if isinstance(name, str) else type(model).__name__,
            enable_vision=enable_vision,
        )
        super().__init__(
            settings,
            categories,
            custom_instructions,
            client=FunctionClient(_chat_function(model, json_schema)),
        )
        self.chat_model = model
