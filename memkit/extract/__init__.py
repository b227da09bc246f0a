"""Extraction: what an ``add`` learns from messages, as memory operations.

The interface (:class:`Extractor`, the :class:`ExtractionContext` it reads existing memories
through, and the :class:`Plan` it answers with) and its two implementations: the offline
:class:`RuleExtractor` (the default) and the :class:`LlmExtractor` (one structured-output call
to any OpenAI-compatible model, or to a framework's chat model through a
:class:`ChatFunction`). Categories, the prompt and the sentence patterns are private here.
"""

from memkit._content import ImagePart, ImageUrl, TextPart
from memkit.extract._chat_function import (
    ChatFunction,
    ChatFunctionError,
    ChatReply,
    FunctionClient,
)
from memkit.extract._interface import (
    Event,
    ExistingMemory,
    ExtractionContext,
    Extractor,
    Message,
    Operation,
    Plan,
    Role,
    Side,
)
from memkit.extract._llm import LlmExtractor
from memkit.extract._patterns import ReadingOptions
from memkit.extract._rules import RuleExtractor

__all__ = [
    "ChatFunction",
    "ChatFunctionError",
    "ChatReply",
    "Event",
    "ExistingMemory",
    "ExtractionContext",
    "Extractor",
    "FunctionClient",
    "ImagePart",
    "ImageUrl",
    "LlmExtractor",
    "Message",
    "Operation",
    "Plan",
    "ReadingOptions",
    "Role",
    "RuleExtractor",
    "Side",
    "TextPart",
]
