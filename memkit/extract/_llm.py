"""The LLM extractor: one structured-output call per ``add``, through the ``openai`` SDK.

Works with OpenAI and any OpenAI-compatible server (vLLM, Ollama, llama.cpp, LM
Studio): ``base_url`` + ``model`` in the ``llm`` config entry. The prompt and the
reading of the reply are pure functions in ``memkit.extract._prompt`` and
``memkit.extract._reply``; this module does the I/O and the failure policy:

- transport failures (timeouts, connection errors, 429, 408/409 and 5xx) are
  retried by the SDK with exponential backoff (``max_retries``, honouring
  ``Retry-After``);
- a reply that is not valid JSON, not the schema, or names an alias or message it
  was not given gets exactly one repair call that sends the error back;
- after that :class:`ExtractionError` is raised and ``Memory.add`` keeps the
  messages for ``Memory.replay``;
- a server that rejects ``json_schema`` response formats is asked again with
  ``json_object`` (once; remembered for the rest of the extractor's life).

Every HTTP attempt, the tokens (the API's ``usage``, else counted offline with
cl100k) and the time spent waiting on the model go into ``Plan.usage`` (or
``ExtractionError.usage``), which ``Memory`` writes to the add's activity-log
entry; ``Memory.usage()`` sums them.

Replaying failed adds: the messages and options of an add whose extraction failed
for good are kept in the ``pending_extractions`` table of the record store (the
same SQL database as the memories: SQLite under the memkit home, or the configured
PostgreSQL), so they survive restarts. ``Memory.pending()`` lists them and
``Memory.replay(pending_id)`` runs the add again, dropping the row on success::

    try:
        memory.add(messages, user_id="alex")
    except ExtractionError as exc:
        log.warning("kept for replay: %s", exc.pending_id)
    ...
    for row in memory.pending():          # e.g. from a periodic job, once the model is back
        memory.replay(row["id"])

    >>> extractor = LlmExtractor(LlmSettings(model="gpt-4o-mini", api_key="sk-..."))
    >>> plan = extractor.plan(messages, ["user"], context)  # one chat.completions call
"""

from __future__ import annotations

import copy
import json
import os
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

import openai
from openai.types.shared_params import ResponseFormatJSONObject, ResponseFormatJSONSchema

from memkit.config import LlmSettings
from memkit.errors import ConfigError, ExtractionError
from memkit.extract._categories import normalize_categories
from memkit.extract._chat_function import ChatFunctionError, FunctionClient
from memkit.extract._interface import (
    ExistingMemory,
    ExtractionContext,
    ExtractionOptions,
    Message,
    Operation,
    Plan,
    Side,
)
from memkit.extract._prompt import (
    PromptInput,
    alias_table,
    build_chat,
    chat_tokens,
    repair_chat,
    sources_of,
)
from memkit.extract._reply import SCHEMA_NAME, Reply, ReplyError, parse_reply, response_schema
from memkit.tokens import count_tokens

__all__ = ["SHOWN_PER_SIDE", "LlmExtractor"]

SHOWN_PER_SIDE = 20  # existing memories shown to the model per side, most similar first
_PLACEHOLDER_KEY = "not-needed"  # local OpenAI-compatible servers accept any key


class _Meter:
    """What one ``plan`` cost: HTTP attempts, tokens and time waiting on the model."""

    def __init__(self) -> None:
        self.calls = 0
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.seconds = 0.0

    def counts(self) -> dict[str, int]:
        return {
            "llm_calls": self.calls,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "llm_ms": round(self.seconds * 1000),
        }


class LlmExtractor:
    """Extraction and reconciliation in one model call; see the module docstring.

    ``categories`` is the project's list (None for the defaults) and
    ``custom_instructions`` free text ("only remember food and travel facts");
    both reach the system prompt. ``client`` replaces the SDK client (tests).
    With ``enable_vision`` in the settings the messages' images go to the model as
    OpenAI ``image_url`` parts (``accepts_images``); without it ``Memory.add`` refuses
    them before any call.

        >>> memory = Memory.from_config({"llm": {"provider": "openai", "config": {
        ...     "model": "qwen2.5:7b", "base_url": "http://localhost:11434/v1"}}})
    """

    def __init__(
        self,
        settings: LlmSettings | None = None,
        categories: Mapping[str, str] | Sequence[str] | None = None,
        custom_instructions: str | None = None,
        *,
        client: openai.OpenAI | FunctionClient | None = None,
    ) -> None:
        self.settings = settings or LlmSettings()
        self.categories: dict[str, str] = normalize_categories(categories)
        self.custom_instructions = custom_instructions
        self.includes: str | None = None
        self.excludes: str | None = None
        self._local = threading.local()
        self._client = client or self._build_client()
        self._json_schema = True  # False once the server has refused json_schema

    @property
    def accepts_images(self) -> bool:
        """Whether image parts may be sent: the user says so (``llm.config.enable_vision``)."""
        return self.settings.enable_vision

    def for_call(self, options: ExtractionOptions) -> LlmExtractor:
        """This extractor for one ``add`` with the platform's per-call options, all in the
        prompt: ``custom_instructions`` and ``categories`` replace the configured ones,
        ``includes`` / ``excludes`` say what to keep and what never to store. A shallow
        copy: the client, and the per-thread meter its request hook counts on, are shared."""
        call = copy.copy(self)
        if options.categories is not None:
            call.categories = dict(options.categories)
        if options.custom_instructions is not None:
            call.custom_instructions = options.custom_instructions
        call.includes, call.excludes = options.includes, options.excludes
        return call

    def _build_client(self) -> openai.OpenAI:
        settings = self.settings
        base_url = settings.base_url or os.environ.get("OPENAI_BASE_URL")
        api_key = settings.api_key or os.environ.get("OPENAI_API_KEY")
        if not api_key:
            if not base_url:
                raise ConfigError(
                    "llm.config.api_key: no API key; set it or OPENAI_API_KEY (a local "
                    "OpenAI-compatible server needs only llm.config.base_url)"
                )
            api_key = _PLACEHOLDER_KEY
        http_client = openai.DefaultHttpxClient(event_hooks={"request": [self._count_attempt]})
        return openai.OpenAI(
            api_key=api_key,
            base_url=base_url,
            timeout=settings.timeout,
            max_retries=settings.max_retries,
            http_client=http_client,
        )

    def _count_attempt(self, request: Any) -> None:
        """httpx request hook: every HTTP attempt, the SDK's retries included, is a call."""
        meter: _Meter | None = getattr(self._local, "meter", None)
        if meter is not None:
            meter.calls += 1

    # ---- the plan -------------------------------------------------------------------------

    def plan(
        self,
        messages: Sequence[Message],
        sides: Sequence[Side],
        context: ExtractionContext,
    ) -> Plan:
        wanted = list(dict.fromkeys(sides))
        sources = sources_of(messages, wanted)
        if not sources:
            return Plan()  # nothing the written entities said: no call at all
        shown = alias_table(self._similar(messages, sources, wanted, context))
        prompt = PromptInput(
            messages=messages,
            sides=wanted,
            sources=sources,
            shown=shown,
            categories=self.categories,
            custom_instructions=self.custom_instructions,
            includes=self.includes,
            excludes=self.excludes,
            image_detail=self.settings.vision_details,
        )
        meter = _Meter()
        self._local.meter = meter
        try:
            reply = self._ask(prompt, meter)
        finally:
            self._local.meter = None
        return Plan(operations=_resolve(reply, context), usage=meter.counts())

    @staticmethod
    def _similar(
        messages: Sequence[Message],
        sources: Mapping[int, Side],
        sides: Sequence[Side],
        context: ExtractionContext,
    ) -> dict[Side, list[ExistingMemory]]:
        """The existing memories most similar to what was said, per side (one lookup each).

        Every side is looked up with all source messages, so when both sides share one
        entity (an app_id or run_id alone) a memory is shown as belonging to both.
        """
        said = [messages[number - 1].content for number in sorted(sources)]
        texts = [text for text in said if text.strip()]  # an image-only message: no lookup
        found: dict[Side, list[ExistingMemory]] = {}
        for side in sides:
            best: dict[str, ExistingMemory] = {}
            for row in context.similar(texts, side):
                for memory in row:
                    if memory.id not in best or memory.score > best[memory.id].score:
                        best[memory.id] = memory
            ranked = sorted(best.values(), key=lambda m: -m.score)
            found[side] = ranked[:SHOWN_PER_SIDE]
        return found

    def _ask(self, prompt: PromptInput, meter: _Meter) -> Reply:
        """One call, and one repair call if its answer is invalid."""
        chat = build_chat(prompt)
        schema = response_schema(prompt)
        answer = self._complete(chat, schema, meter)
        try:
            return parse_reply(answer, prompt)
        except ReplyError as first:
            repaired = self._complete(repair_chat(chat, answer or "", str(first)), schema, meter)
            try:
                return parse_reply(repaired, prompt)
            except ReplyError as second:
                raise ExtractionError(
                    f"the model's answer was invalid twice (after one repair): {second}",
                    usage=meter.counts(),
                ) from second

    def _complete(
        self, chat: list[dict[str, Any]], schema: dict[str, Any], meter: _Meter
    ) -> str | None:
        """The text of one chat completion (the SDK retries transport failures)."""
        options: dict[str, Any] = {
            "model": self.settings.model,
            "messages": chat,
            "temperature": self.settings.temperature,
        }
        if self.settings.max_tokens is not None:
            options["max_tokens"] = self.settings.max_tokens
        started = time.perf_counter()
        failure: openai.APIError | ChatFunctionError | None = None
        completion: Any = None
        try:
            completion = self._send(options, schema)
        except json.JSONDecodeError:
            pass  # a 200 whose body is not JSON: handled like an invalid answer
        except openai.APIError as exc:  # HTTP errors, timeouts, connection errors
            failure = exc
        except ChatFunctionError as exc:  # a framework model's own client failed
            failure = exc
        meter.seconds += time.perf_counter() - started
        if failure is not None:
            detail = (
                failure.message
                if isinstance(failure, openai.APIStatusError)
                else str(failure)
                if isinstance(failure, ChatFunctionError)
                else f"{type(failure).__name__}: {failure}"
            )
            raise ExtractionError(
                f"the LLM call failed after {meter.calls} attempt(s): {detail}",
                usage=meter.counts(),
            ) from failure
        answer = _content(completion)
        usage = getattr(completion, "usage", None)
        prompt_tokens = getattr(usage, "prompt_tokens", None)
        completion_tokens = getattr(usage, "completion_tokens", None)
        meter.prompt_tokens += (
            prompt_tokens if isinstance(prompt_tokens, int) else chat_tokens(chat)
        )
        meter.completion_tokens += (
            completion_tokens if isinstance(completion_tokens, int) else count_tokens(answer or "")
        )
        return answer

    def _send(self, options: dict[str, Any], schema: dict[str, Any]) -> Any:
        try:
            return self._create(options, schema)
        except openai.BadRequestError as exc:
            if not self._json_schema or not _rejects_schema(exc):
                raise
            self._json_schema = False  # a server that knows only json_object
            return self._create(options, schema)

    def _create(self, options: dict[str, Any], schema: dict[str, Any]) -> Any:
        response_format: ResponseFormatJSONSchema | ResponseFormatJSONObject
        if self._json_schema:
            response_format = {
                "type": "json_schema",
                "json_schema": {"name": SCHEMA_NAME, "strict": True, "schema": schema},
            }
        else:
            response_format = {"type": "json_object"}
        return self._client.chat.completions.create(**options, response_format=response_format)


def _rejects_schema(exc: openai.BadRequestError) -> bool:
    text = str(exc).lower()
    return "response_format" in text or "json_schema" in text


def _content(completion: Any) -> str | None:
    """The answer's text; None when the body has no message (treated as an invalid answer)."""
    choices = getattr(completion, "choices", None)
    if not choices:
        return None
    message = getattr(choices[0], "message", None)
    content = getattr(message, "content", None)
    return content if isinstance(content, str) else None


def _resolve(reply: Reply, context: ExtractionContext) -> list[Operation]:
    """The reply's operations, with spoken deletes expanded by the context: "forget
    everything about me" into DELETEs of every memory of that side's scope (the model
    names a message, never a memory, so it cannot reach past the add's scope), topic
    deletes into DELETEs of every memory of that side in the named categories. An
    UPDATE of a memory deleted that way becomes an ADD, so the new fact survives."""
    deletes: list[Operation] = []
    gone: set[str] = set()
    expanded = [(side, context.all_memories(side)) for side in reply.erase]
    expanded += [
        (request.side, context.in_categories(list(request.categories), request.side))
        for request in reply.forget
    ]
    for side, memories in expanded:
        for memory in memories:
            if memory.id not in gone:
                gone.add(memory.id)
                deletes.append(Operation(event="DELETE", side=side, target_id=memory.id))
    rest: list[Operation] = []
    for op in reply.operations:
        if op.target_id in gone:
            if op.event != "UPDATE":
                continue
            op = op.model_copy(update={"event": "ADD", "target_id": None})
        rest.append(op)
    return deletes + rest
