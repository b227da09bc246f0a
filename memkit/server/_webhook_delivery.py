"""Sending webhook deliveries: signed POSTs, retried with backoff, every attempt recorded.

The order of things, and why:

1. ``publish`` writes one pending row per matching webhook (``_webhook_store``) before
   anything is sent, so an event survives a crash or restart between the write and the
   POST. A new worker resumes every due pending row when it starts.
2. One scheduler thread per process claims due rows (an atomic UPDATE, so among several
   processes sharing the database exactly one sends each) and hands them to a small pool
   of sender threads. API requests never wait on a receiver: they only insert rows.
3. A sender POSTs the stored body with a fresh signature and a timeout, then records the
   attempt and the row's new state (delivered, pending with the next due time, or failed
   after ``max_attempts``) and drops the claim, in one transaction.

Signature: ``X-Memkit-Signature: t=<unix seconds>,v1=<hex>``, where ``<hex>`` is the
HMAC-SHA256, keyed with the webhook's secret, of ``"<t>." + <raw request body>``. A
receiver recomputes it over the bytes it received (before parsing the JSON), compares in
constant time, and refuses a ``t`` older than a few minutes against replays — which is
what :func:`verify_signature` does.

Where deliveries may go: by default anywhere, loopback and private networks included —
memkit is self-hosted, and a receiver beside the server (or on its LAN) is the common
case. That also means any key holder can make the server POST to addresses only the
server can reach (request forgery; the deliveries listing shows the status code or the
connection error). A server whose key holders are not all trusted is started with
``allow_private_networks=False`` (``ServerSettings.webhooks``): a URL whose host is, or
resolves to, a loopback, private, link-local, reserved or multicast address is refused
when registered (literal addresses) and at every attempt (names, resolved then). A name
resolved again by the HTTP client between the check and the connection (DNS rebinding)
is not covered; put an egress proxy or firewall in front when that matters.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import random
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx
from sqlalchemy.exc import SQLAlchemyError

from memkit import __version__
from memkit.server._webhook_store import Claimed, DeliveryStatus, WebhookStore

__all__ = [
    "DELIVERY_HEADER",
    "EVENT_HEADER",
    "SIGNATURE_HEADER",
    "DeliveryWorker",
    "RetryPolicy",
    "private_address",
    "sign",
    "verify_signature",
]

log = logging.getLogger("memkit.server.webhooks")

SIGNATURE_HEADER = "X-Memkit-Signature"
EVENT_HEADER = "X-Memkit-Event"
DELIVERY_HEADER = "X-Memkit-Delivery"
# A stored error message is for people reading the deliveries listing, not a log dump.
MAX_ERROR_CHARS = 500
# How long a claim outlives the HTTP timeout before another worker may take the row over:
# only a process that died mid-send leaves a claim that long.
CLAIM_GRACE_SECONDS = 30.0
# A whole attempt (connect, send, the answer's status and headers) ends by this many
# timeouts, however the receiver paces its bytes (``_post``).
DEADLINE_FACTOR = 2.0
# Finished deliveries are kept this long for the listing, then pruned (checked hourly).
DEFAULT_RETENTION_SECONDS = 30 * 24 * 3600.0
PRUNE_EVERY_SECONDS = 3600.0


def _mac(secret: str, timestamp: int, body: bytes) -> str:
    message = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The ``X-Memkit-Signature`` value for ``body`` sent at ``timestamp``."""
    return f"t={timestamp},v1={_mac(secret, timestamp, body)}"


def verify_signature(
    secret: str,
    body: bytes | str,
    header: str,
    tolerance: float = 300,
    *,
    now: float | None = None,
) -> bool:
    """True when ``header`` (``X-Memkit-Signature``) signs ``body`` with ``secret`` and
    its timestamp is within ``tolerance`` seconds of ``now``.

        if not verify_signature(secret, request_body_bytes, headers["X-Memkit-Signature"]):
            return 401

    Pass the raw body as received: re-serialised JSON may differ by a byte.
    """
    raw = body.encode("utf-8") if isinstance(body, str) else body
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        # ASCII only: the header is a stranger's text, and ``int`` takes other digits
        # ("²" passes isdigit, then raises) while compare_digest raises on non-ASCII.
        if not value.isascii():
            continue
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1" and value:
            candidates.append(value)
    if timestamp is None or not candidates:
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        return False
    expected = _mac(secret, timestamp, raw)
    return any(hmac.compare_digest(expected, given) for given in candidates)


@dataclass(frozen=True)
class RetryPolicy:
    """How hard a delivery is tried: ``max_attempts`` POSTs in all, the n-th retry after
    ``base_delay * 2**(n-1)`` seconds (capped at ``max_delay``) plus up to ``jitter`` of
    that again, so receivers that failed together are not hit together again."""

    max_attempts: int = 6
    base_delay: float = 2.0
    max_delay: float = 600.0
    jitter: float = 0.25
    timeout: float = 5.0

    def delay(self, attempts_made: int, rand: float) -> float:
        """Seconds to wait after ``attempts_made`` failed attempts; ``rand`` in [0, 1)."""
        exponent = max(attempts_made - 1, 0)
        base = min(self.max_delay, self.base_delay * 2.0 ** min(exponent, 60))
        return base * (1.0 + self.jitter * rand)

    def outcome(
        self, attempt: int, status_code: int | None, now: float, rand: float
    ) -> tuple[DeliveryStatus, float | None]:
        """The row's status after ``attempt`` ended with ``status_code`` (None: no answer),
        and when to try again."""
        if status_code is not None and 200 <= status_code < 300:
            return "delivered", None
        if attempt >= self.max_attempts:
            return "failed", None
        return "pending", now + self.delay(attempt, rand)


def _not_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # an IPv6 zone id is not the address
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def private_address(host: str, *, resolve: bool) -> str | None:
    """The first address of ``host`` that is not a public unicast one (loopback,
    private, link-local, reserved, multicast), or None. ``resolve=False`` judges literal
    addresses and ``localhost`` only; with ``resolve`` a name is looked up, and a name
    that does not resolve is None (the POST then fails on its own)."""
    name = host.strip("[]").rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return name
    try:
        return name if _not_public(name) else None
    except ValueError:
        pass  # a name, not an address
    if not resolve:
        return None
    try:
        found = socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return None
    for *_, sockaddr in found:
        if _not_public(str(sockaddr[0])):
            return str(sockaddr[0])
    return None


def _short(error: BaseException) -> str:
    text = " ".join(f"{type(error).__name__}: {error}".split())
    return text[:MAX_ERROR_CHARS]


def _post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
    """POST and return the answer's status code, all within ``DEADLINE_FACTOR * timeout``.

    httpx's timeout is per network operation: a receiver that drips its answer's head a
    byte at a time never trips it, and would hold a sender (of every project's
    deliveries) for as long as it likes. So each attempt has a client of its own, closed
    by a timer at the deadline, which ends the attempt with a ``ReadError``.
    """
    deadline = DEADLINE_FACTOR * timeout
    expired = threading.Event()
    client = httpx.Client(
        follow_redirects=False, headers={"User-Agent": f"memkit-webhooks/{__version__}"}
    )

    def expire() -> None:
        expired.set()
        client.close()

    timer = threading.Timer(deadline, expire)
    timer.daemon = True
    timer.start()
    try:
        # Streamed and closed unread: a receiver's answer body is not our business.
        with client.stream("POST", url, content=body, headers=headers, timeout=timeout) as answer:
            return answer.status_code
    except httpx.HTTPError as exc:
        if expired.is_set():
            raise httpx.ReadTimeout(f"no answer within {deadline:g} s") from exc
        raise
    finally:
        timer.cancel()
        client.close()


class DeliveryWorker:
    """The scheduler thread and its senders for one process; started on demand."""

    def __init__(
        self,
        store: WebhookStore,
        policy: RetryPolicy,
        *,
        worker_id: str,
        concurrency: int = 4,
        poll_interval: float = 1.0,
        retention: float = DEFAULT_RETENTION_SECONDS,
        allow_private_networks: bool = True,
    ) -> None:
        self.store = store
        self.allow_private_networks = allow_private_networks
        self.policy = policy
        self.worker_id = worker_id
        self.concurrency = concurrency
        self.poll_interval = poll_interval
        self.retention = retention
        self._pruned_at = 0.0
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._inflight = 0
        self._thread: threading.Thread | None = None
        self._senders: ThreadPoolExecutor | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and not self._stop.is_set()

    def start(self) -> None:
        """Start the threads unless running (or stopped for good); safe from any thread."""
        with self._lock:
            if self._thread is not None or self._stop.is_set():
                return
            self._senders = ThreadPoolExecutor(
                max_workers=self.concurrency, thread_name_prefix="memkit-webhook-send"
            )
            self._thread = threading.Thread(
                target=self._run, name="memkit-webhook-scheduler", daemon=True
            )
            self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        """Stop claiming, let sends in flight finish (each bounded by the timeout), and
        give back claims that were not started. Pending rows stay for the next start."""
        with self._lock:
            self._stop.set()
            self._wake.set()
            thread, senders = self._thread, self._senders
        if thread is not None:
            thread.join()
        if senders is not None:
            senders.shutdown(wait=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                wait = self._tick()
            except SQLAlchemyError:
                # The database is away for a moment: the rows are still there later.
                log.exception("webhook worker could not reach the database")
                wait = self.poll_interval
            self._wake.wait(wait)

    def _tick(self) -> float:
        """Claim and hand out what is due; return how long to sleep."""
        if time.time() - self._pruned_at > PRUNE_EVERY_SECONDS:
            self._pruned_at = time.time()
            self.store.prune(self._pruned_at - self.retention)
        with self._lock:
            free = self.concurrency - self._inflight
        if free <= 0:
            return self.poll_interval  # a finished send wakes us
        lease = self.policy.timeout * DEADLINE_FACTOR + CLAIM_GRACE_SECONDS
        for claimed in self.store.claim_due(self.worker_id, free, lease, time.time()):
            with self._lock:
                self._inflight += 1
            assert self._senders is not None  # made in start(), before this thread
            self._senders.submit(self._send, claimed)
        with self._lock:
            if self._inflight >= self.concurrency:
                return self.poll_interval
        now = time.time()
        due = self.store.next_due(now)
        if due is None:
            return self.poll_interval
        return min(max(due - now, 0.0), self.poll_interval)

    def _send(self, claimed: Claimed) -> None:
        try:
            if self._stop.is_set():
                self.store.release(self.worker_id, claimed.delivery_id)
                return
            self._attempt(claimed)
        except SQLAlchemyError:
            log.exception("webhook delivery %s: could not record", claimed.delivery_id)
        finally:
            with self._lock:
                self._inflight -= 1
            self._wake.set()

    def _refused_destination(self, url: str) -> str | None:
        """Why ``url`` may not be sent to (see the module's note), or None."""
        if self.allow_private_networks:
            return None
        host = httpx.URL(url).host
        address = private_address(host, resolve=True) if host else None
        if address is None:
            return None
        return (
            f"refused: {host} is a non-public address ({address}); this server does not "
            "deliver to private networks"
        )

    def _attempt(self, claimed: Claimed) -> None:
        attempt = claimed.attempts + 1
        policy = self.policy
        started = time.time()
        clock = time.perf_counter()
        status_code: int | None = None
        error: str | None = None
        if claimed.url is None or claimed.secret is None:
            error = "the webhook is inactive or was deleted"
            status: DeliveryStatus = "failed"
            next_at: float | None = None
        else:
            body = claimed.body.encode("utf-8")
            headers = {
                "Content-Type": "application/json",
                EVENT_HEADER: claimed.event,
                DELIVERY_HEADER: claimed.delivery_id,
                SIGNATURE_HEADER: sign(claimed.secret, body, int(started)),
            }
            try:
                refused = self._refused_destination(claimed.url)
                if refused is not None:
                    raise httpx.ConnectError(refused)
                status_code = _post(claimed.url, body, headers, policy.timeout)
                if not 200 <= status_code < 300:
                    error = f"HTTP {status_code}"
            except (httpx.HTTPError, httpx.InvalidURL, UnicodeError) as exc:
                # Every way a POST can fail to get an answer is an attempt that failed;
                # letting one escape would leave the row claimed and its attempt unrecorded.
                error = _short(exc)
            status, next_at = policy.outcome(attempt, status_code, time.time(), random.random())
        self.store.record_attempt(
            self.worker_id,
            claimed.delivery_id,
            attempt=attempt,
            at=started,
            duration_ms=(time.perf_counter() - clock) * 1000.0,
            status_code=status_code,
            error=error,
            status=status,
            next_attempt_at=next_at,
        )
