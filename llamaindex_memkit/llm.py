"""``LlamaIndexExtractor``: a LlamaIndex LLM as memkit's LLM (its extractor's model).

memkit's LLM extractor owns the prompt, the reading of the reply, the one repair call
and the reconciliation with existing memories; it talks to its model through an
OpenAI-SDK-shaped client (``memkit.extract``). This module only supplies the
function that answers from a LlamaIndex LLM.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from llama_index.core.base.llms.types import ChatMessage
from llama_index.core.llms import LLM

from memkit.config import LlmSettings
from memkit.extract import ChatFunction, ChatReply, FunctionClient, LlmExtractor

__all__ = ["LlamaIndexExtractor"]


def _chat_function(llm: LLM, json_schema: bool) -> ChatFunction:
    def chat(
        messages: list[dict[str, str]], response_format: Mapping[str, Any] | None
    ) -> ChatReply:
        extra: dict[str, Any] = {}
        if json_schema and response_format is not None:
            extra["response_format"] = dict(response_format)
        reply = llm.chat(
            [ChatMessage(role=m["role"], content=m["content"]) for m in messages], **extra
        )
        usage = reply.additional_kwargs
        return ChatReply(
            content=reply.message.content or "",
            prompt_tokens=usage.get("prompt_tokens"),
            completion_tokens=usage.get("completion_tokens"),
        )

    return chat


class LlamaIndexExtractor(LlmExtractor):
    """memkit's LLM extraction, answered by a LlamaIndex LLM you already configured.

    The prompt asks for JSON and memkit checks (and once repairs) the answer, so any
    chat LLM works. ``json_schema=True`` also passes memkit's strict JSON schema as the
    OpenAI ``response_format`` keyword of ``llm.chat`` (llama-index-llms-openai and
    OpenAI-compatible LLMs forward it to the API).

    Instantiate (``OpenAI(model="gpt-4o-mini")`` in place of the recording LLM, which
    here answers with memkit's JSON plan):

    >>> import json
    >>> from memkit import Memory
    >>> from llamaindex_memkit import LlamaIndexExtractor
    >>> from llamaindex_memkit.testing import RecordingLLM
    >>> fact = {"event": "ADD", "source": 1, "text": "Lives in Lisbon", "target": None,
    ...         "categories": ["personal_details"]}
    >>> llm = RecordingLLM(reply=lambda prompt: json.dumps({"memories": [fact], "forget": []}))
    >>> memory = Memory(extractor=LlamaIndexExtractor(llm))

    Add / Search:

    >>> _ = memory.add("I moved to Lisbon last month", user_id="alex")   # one model call
    >>> len(llm.prompts)
    1
    >>> memory.search("where does alex live?", user_id="alex").results[0].memory
    'Lives in Lisbon'

    Pass the same ``categories`` / ``custom_instructions`` as the Memory's config.
    Failures: an error of the model's client (after its own retries) becomes
    ``ExtractionError``, with the messages kept for ``Memory.replay``, as for the OpenAI SDK.
    """

    def __init__(
        self,
        llm: LLM,
        *,
        categories: Mapping[str, str] | Sequence[str] | None = None,
        custom_instructions: str | None = None,
        json_schema: bool = False,
    ) -> None:
        name = getattr(llm.metadata, "model_name", None) or type(llm).__name__
        super().__init__(
            LlmSettings(model=name),
            categories,
            custom_instructions,
            client=FunctionClient(_chat_function(llm, json_schema)),
        )
        self.llm = llm
