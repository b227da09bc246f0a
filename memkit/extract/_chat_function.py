"""Any chat model as memkit's LLM: a plain function behind the extractor's client seam.

``LlmExtractor`` talks to its model through the slice of ``openai.OpenAI`` it uses
(``chat.completions.create``). Framework adapters (a LangChain chat model, a LlamaIndex
LLM) answer through a function instead; this module adapts one to the other, once,
so the prompt, the repair call and the reconciliation stay in the extractor.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

__all__ = ["ChatFunction", "ChatFunctionError", "ChatReply", "FunctionClient"]


class ChatFunctionError(Exception):
    """The wrapped model failed (its own client's error is the ``__cause__``).

    The extractor turns it into ``ExtractionError``, as it does the OpenAI SDK's errors,
    so a failed call keeps the messages for ``Memory.replay`` whatever the provider.
    Retrying is the wrapped model's business (LangChain and LlamaIndex models have their
    own ``max_retries``).
    """


@dataclass(frozen=True)
class ChatReply:
    content: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


# (messages as {"role", "content"} dicts, the OpenAI response_format or None) -> reply.
# A content is a string, or OpenAI content parts when images are sent (enable_vision).
ChatFunction = Callable[[list[dict[str, Any]], Mapping[str, Any] | None], ChatReply]


class FunctionClient:
    """An OpenAI-SDK-shaped client whose completions come from a ``ChatFunction``."""

    def __init__(self, chat: ChatFunction) -> None:
        self._chat = chat
        self.chat = SimpleNamespace(completions=self)

    def create(
        self,
        *,
        messages: Sequence[Mapping[str, Any]],
        response_format: Mapping[str, Any] | None = None,
        **_options: Any,  # model, temperature, max_tokens: the wrapped model's own settings rule
    ) -> SimpleNamespace:
        try:
            reply = self._chat([dict(m) for m in messages], response_format)
        except Exception as exc:
            raise ChatFunctionError(f"{type(exc).__name__}: {exc}") from exc
        return SimpleNamespace(
            choices=[SimpleNamespace(message=SimpleNamespace(content=reply.content))],
            usage=SimpleNamespace(
                prompt_tokens=reply.prompt_tokens, completion_tokens=reply.completion_tokens
            ),
        )
