"""A scripted OpenAI-compatible HTTP server on 127.0.0.1, for tests and benchmarks.

The real ``openai`` SDK talks to it over HTTP, so tests exercise exactly what runs
against OpenAI, vLLM or Ollama: retries, timeouts, status codes, malformed bodies.
Standard library only (``http.server`` in a background thread), so it works
wherever memkit does.

Replies are taken from a queue, in order; when the queue is empty a ``responder``
function (if given) answers, otherwise the request gets a 400 saying no reply was
scripted. Every request is recorded, with its parsed JSON body.

    >>> with ScriptedOpenAI() as server:
    ...     server.reply({"memories": [], "forget": []})          # a JSON answer
    ...     server.reply(ScriptedReply.error(429), ScriptedReply.text("not json"))
    ...     client = openai.OpenAI(base_url=server.url, api_key="test")
    ...     ...
    ...     server.chat_requests[0].messages                       # what was sent

``/embeddings`` answers with deterministic hashed bag-of-words vectors
(``memkit.testing.HashEmbedder``), so a peer library that needs an OpenAI
embedder can run against the same server.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from memkit.extract._prompt import chat_tokens
from memkit.testing import HashEmbedder
from memkit.tokens import count_tokens

__all__ = ["RecordedRequest", "ScriptedOpenAI", "ScriptedReply"]

_FAST_RETRY = {"retry-after-ms": "5"}  # keeps the SDK's backoff short in tests


@dataclass(frozen=True)
class ScriptedReply:
    """One answer of the server: a chat completion, an error, or a raw body.

    ``delay`` seconds pass before anything is sent (for client timeouts).
    ``usage=False`` leaves the ``usage`` block out of a completion.
    """

    status: int = 200
    content: str | None = None
    body: bytes | None = None
    content_type: str = "application/json"
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0
    usage: bool = True

    @classmethod
    def json(cls, answer: Any, **options: Any) -> ScriptedReply:
        """A completion whose message content is ``answer`` as JSON text."""
        return cls(content=json.dumps(answer), **options)

    @classmethod
    def text(cls, content: str | None, **options: Any) -> ScriptedReply:
        """A completion whose message content is ``content`` verbatim (e.g. malformed JSON)."""
        return cls(content=content, **options)

    @classmethod
    def error(
        cls,
        status: int,
        message: str = "scripted error",
        headers: Mapping[str, str] | None = None,
        **options: Any,
    ) -> ScriptedReply:
        """An OpenAI-style error body with ``status``; 429/5xx ask for a 5 ms retry delay."""
        kind = (
            "rate_limit_error"
            if status == 429
            else "server_error"
            if status >= 500
            else ("invalid_request_error")
        )
        body = json.dumps({"error": {"message": message, "type": kind, "code": None}})
        retry = _FAST_RETRY if status == 429 or status >= 500 else {}
        return cls(
            status=status,
            body=body.encode(),
            headers=dict(retry if headers is None else headers),
            **options,
        )

    @classmethod
    def raw(
        cls,
        body: bytes | str,
        status: int = 200,
        content_type: str = "application/json",
        **options: Any,
    ) -> ScriptedReply:
        """Exactly these bytes as the response body (a truncated or non-JSON body)."""
        data = body.encode() if isinstance(body, str) else body
        return cls(status=status, body=data, content_type=content_type, **options)


@dataclass(frozen=True)
class RecordedRequest:
    """One request the server received."""

    method: str
    path: str
    headers: Mapping[str, str]
    raw: bytes
    received_at: float

    @property
    def body(self) -> Any:
        try:
            return json.loads(self.raw or b"null")
        except json.JSONDecodeError:
            return None

    @property
    def messages(self) -> list[dict[str, Any]]:
        body = self.body
        return list(body.get("messages", [])) if isinstance(body, dict) else []

    @property
    def prompt_tokens(self) -> int:
        """The prompt's tokens, counted offline (cl100k) the way OpenAI bills them."""
        return chat_tokens(self.messages)

    def text(self) -> str:
        """Every message's content, joined: handy for ``"..." in request.text()``."""
        return "\n".join(str(m.get("content") or "") for m in self.messages)


Responder = Callable[[RecordedRequest], "ScriptedReply | Mapping[str, Any] | str"]


class ScriptedOpenAI:
    """The server; see the module docstring. Use as a context manager, or start()/close()."""

    def __init__(
        self,
        replies: Iterable[ScriptedReply | Mapping[str, Any] | str] = (),
        *,
        responder: Responder | None = None,
        embedding_dims: int = 1536,
    ) -> None:
        self.responder = responder
        self.requests: list[RecordedRequest] = []
        self._queue: deque[ScriptedReply] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._embedders: dict[int, HashEmbedder] = {}
        self._embedding_dims = embedding_dims
        self._completions = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.reply(*replies)

    # ---- lifecycle ------------------------------------------------------------------------

    def start(self) -> ScriptedOpenAI:
        if self._server is None:
            self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
            self._server.daemon_threads = True
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},  # close() returns within 50 ms
                name="scripted-openai",
                daemon=True,
            )
            self._thread.start()
        return self

    def close(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> ScriptedOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def url(self) -> str:
        """The base URL to give the SDK (``.../v1``)."""
        if self._server is None:
            raise RuntimeError("the server is not running; use it as a context manager")
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    # ---- script and record ----------------------------------------------------------------

    def reply(self, *replies: ScriptedReply | Mapping[str, Any] | str) -> None:
        """Queue answers: a ScriptedReply, a dict (sent as JSON content) or a string."""
        with self._lock:
            self._queue.extend(_as_reply(r) for r in replies)

    @property
    def remaining(self) -> int:
        """Scripted replies not used yet."""
        with self._lock:
            return len(self._queue)

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.path.endswith("/chat/completions")]

    def clear(self) -> None:
        """Forget the recorded requests and any queued replies."""
        with self._lock:
            self.requests.clear()
            self._queue.clear()

    # ---- answering ------------------------------------------------------------------------

    def _answer(self, request: RecordedRequest) -> tuple[ScriptedReply, bytes]:
        with self._lock:
            self.requests.append(request)
        if request.path.endswith("/embeddings"):
            return ScriptedReply(), self._embeddings(request)
        if request.method == "GET" and request.path.endswith("/models"):
            body = {
                "object": "list",
                "data": [{"id": "scripted", "object": "model", "created": 0, "owned_by": "memkit"}],
            }
            return ScriptedReply(), json.dumps(body).encode()
        if not request.path.endswith("/chat/completions"):
            return ScriptedReply.error(404, f"no route {request.path}"), b""
        with self._lock:
            reply = self._queue.popleft() if self._queue else None
        if reply is None and self.responder is not None:
            reply = _as_reply(self.responder(request))
        if reply is None:
            reply = ScriptedReply.error(400, "ScriptedOpenAI: no scripted reply left")
        if reply.body is not None:
            return reply, reply.body
        return reply, self._completion(request, reply)

    def _completion(self, request: RecordedRequest, reply: ScriptedReply) -> bytes:
        with self._lock:
            self._completions += 1
            number = self._completions
        body = request.body if isinstance(request.body, dict) else {}
        out: dict[str, Any] = {
            "id": f"chatcmpl-scripted-{number}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": str(body.get("model", "scripted")),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": reply.content},
                    "finish_reason": "stop",
                    "logprobs": None,
                }
            ],
        }
        if reply.usage:
            prompt = request.prompt_tokens
            completion = count_tokens(reply.content or "")
            out["usage"] = {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
            }
        return json.dumps(out).encode()

    def _embeddings(self, request: RecordedRequest) -> bytes:
        body = request.body if isinstance(request.body, dict) else {}
        texts = body.get("input", [])
        texts = [texts] if isinstance(texts, str) else [str(t) for t in texts]
        dims = int(body.get("dimensions") or self._embedding_dims)
        embedder = self._embedders.setdefault(dims, HashEmbedder(dims=dims))
        vectors: Iterable[Iterable[float]] = embedder.embed(texts) if texts else []
        tokens = sum(count_tokens(t) for t in texts)
        out = {
            "object": "list",
            "data": [
                {"object": "embedding", "index": i, "embedding": [float(x) for x in v]}
                for i, v in enumerate(vectors)
            ],
            "model": str(body.get("model", "scripted")),
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
        return json.dumps(out).encode()


def _as_reply(reply: ScriptedReply | Mapping[str, Any] | str) -> ScriptedReply:
    if isinstance(reply, ScriptedReply):
        return reply
    if isinstance(reply, str):
        return ScriptedReply.text(reply)
    return ScriptedReply.json(dict(reply))


def _handler_for(server: ScriptedOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self._serve()

        def do_POST(self) -> None:
            self._serve()

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            request = RecordedRequest(
                method=self.command,
                path=self.path.split("?")[0],
                headers={k.lower(): v for k, v in self.headers.items()},
                raw=raw,
                received_at=time.time(),
            )
            reply, body = server._answer(request)
            if reply.delay and server._stopping.wait(reply.delay):
                return
            try:
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(body)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)
            except OSError:
                self.close_connection = True  # the client gave up (timeout) and hung up

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: tests read ``server.requests`` instead."""

    return Handler
