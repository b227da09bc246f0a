"""Webhooks: the platform's routes, signed deliveries, retries, tenancy and restarts.

Receivers are tiny HTTP servers on 127.0.0.1 that answer from a script (e.g. 500, 500,
then 200) and record every request they get.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, create_engine

from memkit.server._webhook_store import WebhookStore
from memkit.server._webhooks import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    RetryPolicy,
    WebhookDispatcher,
    sign,
    verify_signature,
)
from memkit.testing.live_server import LiveServer, free_port

SIGNATURE, EVENT, DELIVERY = (h.lower() for h in (SIGNATURE_HEADER, EVENT_HEADER, DELIVERY_HEADER))
FAST = RetryPolicy(max_attempts=3, base_delay=0.02, max_delay=0.1, jitter=0.1, timeout=2.0)


class Receiver:
    """Records POSTs; answers each with the next scripted status, then ``default``."""

    def __init__(
        self,
        script: list[int] | None = None,
        default: int = 200,
        hold: threading.Event | None = None,
    ) -> None:
        self.script = list(script or [])
        self.default = default
        self.hold = hold  # when given, each answer waits for it (a slow receiver)
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver._lock:
                    headers = {k.lower(): v for k, v in self.headers.items()}
                    receiver.requests.append({"headers": headers, "body": body})
                    code = receiver.script.pop(0) if receiver.script else receiver.default
                if receiver.hold is not None:
                    receiver.hold.wait(10)
                try:
                    self.send_response(code)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the sender gave up waiting (its timeout): nothing to answer

            def log_message(self, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hook"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def receivers() -> Iterator[Callable[..., Receiver]]:
    made: list[Receiver] = []

    def make(
        script: list[int] | None = None, default: int = 200, hold: threading.Event | None = None
    ) -> Receiver:
        made.append(Receiver(script, default, hold))
        return made[-1]

    yield make
    for receiver in made:
        if receiver.hold is not None:
            receiver.hold.set()
        receiver.close()


@pytest.fixture
def engines() -> Iterator[Callable[[str], Engine]]:
    """Engines on one database URL, as separate server processes would each have."""
    made: list[Engine] = []

    def make(url: str) -> Engine:
        made.append(create_engine(url))
        return made[-1]

    yield make
    for engine in made:
        engine.dispose()


def wait_for(check: Callable[[], Any], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


def client(live: LiveServer, project_id: str) -> httpx.Client:
    key = live.new_key(project_id)
    return httpx.Client(base_url=live.url, headers={"Authorization": f"Token {key}"})


def register(http: httpx.Client, project_id: str, url: str, events: list[str]) -> dict[str, Any]:
    answer = http.post(
        f"/api/v1/webhooks/projects/{project_id}/",
        json={"url": url, "name": "recorder", "event_types": events},
    )
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()
    return created


def deliveries(http: httpx.Client, webhook_id: str) -> list[dict[str, Any]]:
    answer = http.get(f"/api/v1/webhooks/{webhook_id}/deliveries/")
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()
    return found


def settled(http: httpx.Client, webhook_id: str, count: int = 1) -> list[dict[str, Any]]:
    """The webhook's deliveries once ``count`` of them are no longer pending."""

    def check() -> list[dict[str, Any]] | None:
        rows = deliveries(http, webhook_id)
        done = [row for row in rows if row["status"] != "pending"]
        return rows if len(done) >= count else None

    found: list[dict[str, Any]] = wait_for(check)
    return found


@pytest.fixture
def fast_live(live_server: LiveServer) -> LiveServer:
    live_server.app.state.events.policy = FAST
    return live_server


# -- signatures and backoff: pure ------------------------------------------------------


def test_signature_verifies_and_rejects_tampering() -> None:
    body = b'{"event":"memory_add"}'
    header = sign("whsec_x", body, 1_700_000_000)
    assert verify_signature("whsec_x", body, header, now=1_700_000_100)
    assert verify_signature("whsec_x", body.decode(), header, now=1_700_000_100)
    assert not verify_signature("whsec_x", body + b" ", header, now=1_700_000_100)
    assert not verify_signature("whsec_y", body, header, now=1_700_000_100)
    assert not verify_signature("whsec_x", body, header, now=1_700_000_301)  # replayed late
    assert not verify_signature("whsec_x", body, "t=1700000000", now=1_700_000_000)
    assert not verify_signature("whsec_x", body, "garbage", now=1_700_000_000)


@pytest.mark.parametrize(
    ("attempts_made", "rand", "expected"),
    [(1, 0.0, 1.0), (2, 0.0, 2.0), (3, 0.0, 4.0), (3, 0.5, 5.0), (20, 0.0, 60.0)],
)
def test_backoff_doubles_with_jitter_and_a_cap(
    attempts_made: int, rand: float, expected: float
) -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=60.0, jitter=0.5)
    assert policy.delay(attempts_made, rand) == pytest.approx(expected)


def test_outcome_after_an_attempt() -> None:
    policy = RetryPolicy(max_attempts=3, base_delay=1.0, jitter=0.0)
    assert policy.outcome(1, 204, 100.0, 0.0) == ("delivered", None)
    assert policy.outcome(1, 500, 100.0, 0.0) == ("pending", 101.0)
    assert policy.outcome(2, None, 100.0, 0.0) == ("pending", 102.0)
    assert policy.outcome(3, 500, 100.0, 0.0) == ("failed", None)


# -- routes ----------------------------------------------------------------------------


def test_routes_have_the_platform_shapes(live_server: LiveServer) -> None:
    with client(live_server, "proj_a") as http:
        created = register(http, "proj_a", "https://example.com/hook", ["memory_add"])
        assert created["webhook_id"].startswith("wh_")
        assert created["secret"].startswith("whsec_")
        assert created["project"] == "proj_a"
        assert created["is_active"] is True
        assert created["event_types"] == ["memory_add"]
        assert {"name", "url", "created_at", "updated_at"} <= created.keys()

        listed = http.get("/api/v1/webhooks/projects/proj_a/").json()
        assert [w["webhook_id"] for w in listed] == [created["webhook_id"]]
        assert "secret" not in listed[0]

        path = f"/api/v1/webhooks/{created['webhook_id']}/"
        updated = http.put(path, json={"name": "renamed", "event_types": ["memory_delete"]})
        assert updated.status_code == 200, updated.text
        assert updated.json()["message"] == "Webhook updated successfully"
        assert updated.json()["name"] == "renamed"
        assert updated.json()["event_types"] == ["memory_delete"]
        assert http.put(path, json={}).status_code == 400
        assert "secret" not in updated.json()
        rotated = http.put(path, json={"rotate_secret": True}).json()
        assert rotated["secret"].startswith("whsec_") and rotated["secret"] != created["secret"]

        assert http.delete(path).json() == {"message": "Webhook deleted successfully"}
        assert http.get("/api/v1/webhooks/projects/proj_a/").json() == []
        assert http.delete(path).status_code == 404


INVALID = [
    ({"url": "ftp://example.com/x", "name": "n", "event_types": ["memory_add"]}, "url"),
    ({"url": "not a url", "name": "n", "event_types": ["memory_add"]}, "url"),
    ({"url": "http://[::1/", "name": "n", "event_types": ["memory_add"]}, "url"),
    ({"url": "http://x.test:port/", "name": "n", "event_types": ["memory_add"]}, "url"),
    ({"url": f"http://{'a' * 70}.test/", "name": "n", "event_types": ["memory_add"]}, "url"),
    ({"url": "http://x.test/", "name": "n", "event_types": ["memory_eat"]}, "event_types"),
    ({"url": "http://x.test/", "name": "", "event_types": ["memory_add"]}, "name"),
    ({"url": "http://x.test/", "name": "n", "event_types": []}, "event_types"),
    ({"url": "http://x.test/", "name": "n", "colour": "red"}, "colour"),
]


def test_invalid_webhooks_are_clear_400s(live_server: LiveServer) -> None:
    with client(live_server, "proj_a") as http:
        for body, field in INVALID:
            answer = http.post("/api/v1/webhooks/projects/proj_a/", json=body)
            assert answer.status_code == 400, body
            assert field in answer.json()["detail"], answer.json()
        hook = register(http, "proj_a", "https://example.com/", ["memory_add"])
        answer = http.put(f"/api/v1/webhooks/{hook['webhook_id']}/", json={"url": "file:///x"})
        assert answer.status_code == 400 and "url" in answer.json()["detail"]
        assert http.get("/api/v1/webhooks/projects/proj_a/").json()[0]["url"] == (
            "https://example.com/"
        )


def test_another_project_cannot_see_or_touch_a_webhook(live_server: LiveServer) -> None:
    with client(live_server, "proj_a") as a, client(live_server, "proj_b") as b:
        hook = register(a, "proj_a", "https://example.com/a", ["memory_add"])
        path = f"/api/v1/webhooks/{hook['webhook_id']}/"

        assert b.get("/api/v1/webhooks/projects/proj_a/").status_code == 403
        create = {"url": "https://evil.test/", "name": "x", "event_types": ["memory_add"]}
        assert b.post("/api/v1/webhooks/projects/proj_a/", json=create).status_code == 403
        assert b.put(path, json={"url": "https://evil.test/"}).status_code == 404
        assert b.delete(path).status_code == 404
        assert b.get(path + "deliveries/").status_code == 404
        assert b.get("/api/v1/webhooks/projects/proj_b/").json() == []

        with httpx.Client(base_url=live_server.url) as anonymous:
            assert anonymous.get("/api/v1/webhooks/projects/proj_a/").status_code == 401
            assert anonymous.delete(path).status_code == 401

        (still,) = a.get("/api/v1/webhooks/projects/proj_a/").json()
        assert still["url"] == "https://example.com/a"


# -- delivery --------------------------------------------------------------------------


def test_delivery_is_signed_and_filtered_by_event(fast_live: LiveServer, receivers) -> None:
    receiver = receivers()
    with client(fast_live, "proj_a") as http:
        hook = register(http, "proj_a", receiver.url, ["memory_add"])
        events = fast_live.app.state.events
        events.publish("proj_a", "memory_delete", {"id": "m0"})  # not subscribed
        events.publish("proj_b", "memory_add", {"id": "m9"})  # another project
        events.publish("proj_a", "memory_add", {"id": "m1", "memory": "likes tea"})
        (row,) = settled(http, hook["webhook_id"])

    request = receiver.requests[0]
    headers, body = request["headers"], request["body"]
    assert verify_signature(hook["secret"], body, headers[SIGNATURE])
    assert not verify_signature(hook["secret"], body.replace(b"tea", b"gin"), headers[SIGNATURE])
    payload = json.loads(body)
    assert payload["event"] == "memory_add" == headers[EVENT]
    assert payload["project_id"] == "proj_a"
    assert payload["data"] == {"id": "m1", "memory": "likes tea"}
    assert payload["delivery_id"] == headers[DELIVERY] == row["delivery_id"]
    assert payload["timestamp"]
    assert row["status"] == "delivered" and row["attempts"] == 1
    assert row["payload"] == payload
    assert [a["status_code"] for a in row["attempt_log"]] == [200]

    # A rotated secret signs from the next delivery on; the old one no longer verifies.
    with client(fast_live, "proj_a") as http:
        path = f"/api/v1/webhooks/{hook['webhook_id']}/"
        secret = http.put(path, json={"rotate_secret": True}).json()["secret"]
        events.publish("proj_a", "memory_add", {"id": "m2"})
        settled(http, hook["webhook_id"], count=2)
    later = receiver.requests[-1]
    assert verify_signature(secret, later["body"], later["headers"][SIGNATURE])
    assert not verify_signature(hook["secret"], later["body"], later["headers"][SIGNATURE])


def test_a_receiver_that_fails_twice_gets_it_on_attempt_three(
    fast_live: LiveServer, receivers
) -> None:
    receiver = receivers(script=[500, 500])
    with client(fast_live, "proj_a") as http:
        hook = register(http, "proj_a", receiver.url, ["memory_update"])
        fast_live.app.state.events.publish("proj_a", "memory_update", {"id": "m1"})
        (row,) = settled(http, hook["webhook_id"])

    assert row["status"] == "delivered"
    assert row["attempts"] == 3
    assert row["delivered_at"] is not None
    assert [a["status_code"] for a in row["attempt_log"]] == [500, 500, 200]
    assert [a["error"] for a in row["attempt_log"]] == ["HTTP 500", "HTTP 500", None]
    assert len(receiver.requests) == 3
    ids = {r["headers"][DELIVERY] for r in receiver.requests}
    assert ids == {row["delivery_id"]}  # one delivery, retried; the receiver can dedupe


def test_a_receiver_that_never_recovers_ends_failed(fast_live: LiveServer, receivers) -> None:
    receiver = receivers(default=503)
    dead = f"http://127.0.0.1:{free_port()}/nobody-home"
    with client(fast_live, "proj_a") as http:
        failing = register(http, "proj_a", receiver.url, ["memory_delete"])
        unreachable = register(http, "proj_a", dead, ["memory_delete"])
        fast_live.app.state.events.publish("proj_a", "memory_delete", {"id": "m1"})
        (row,) = settled(http, failing["webhook_id"])
        (gone,) = settled(http, unreachable["webhook_id"])

    assert row["status"] == "failed" and row["attempts"] == FAST.max_attempts
    assert [a["status_code"] for a in row["attempt_log"]] == [503] * FAST.max_attempts
    assert row["next_attempt_at"] is None and row["delivered_at"] is None
    assert gone["status"] == "failed" and gone["attempts"] == FAST.max_attempts
    assert all(a["status_code"] is None for a in gone["attempt_log"])
    assert "Connect" in gone["last_error"]


def test_an_inactive_webhook_receives_nothing(fast_live: LiveServer, receivers) -> None:
    paused, active = receivers(), receivers()
    with client(fast_live, "proj_a") as http:
        off = register(http, "proj_a", paused.url, ["memory_add"])
        on = register(http, "proj_a", active.url, ["memory_add"])
        answer = http.put(f"/api/v1/webhooks/{off['webhook_id']}/", json={"is_active": False})
        assert answer.json()["is_active"] is False
        fast_live.app.state.events.publish("proj_a", "memory_add", {"id": "m1"})
        settled(http, on["webhook_id"])  # the event has been handled
        assert deliveries(http, off["webhook_id"]) == []
    assert paused.requests == []
    assert len(active.requests) == 1


def test_pending_deliveries_resume_after_a_restart(tmp_path, receivers, engines) -> None:
    receiver = receivers(default=500)
    url = f"sqlite:///{tmp_path / 'server.db'}"
    first = WebhookDispatcher(engines(url), max_attempts=5, base_delay=0.3)
    hook, secret = first.store.create("proj_a", "r", receiver.url, ["memory_add"])
    first.publish("proj_a", "memory_add", {"id": "m1"})
    wait_for(lambda: receiver.requests)
    first.close()  # the server stops with the delivery still pending

    receiver.default = 200
    second = WebhookDispatcher(engines(url), max_attempts=5, base_delay=0.3)
    try:
        (row,) = wait_for(
            lambda: [
                d
                for d in second.store.deliveries("proj_a", hook.webhook_id)
                if d.status == "delivered"
            ]
        )
    finally:
        second.close()
    assert row.attempts == 2
    assert [a.status_code for a in row.attempt_log] == [500, 200]
    last = receiver.requests[-1]
    assert verify_signature(secret, last["body"], last["headers"][SIGNATURE])


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_processes_sharing_a_database_send_each_delivery_once(
    database: str, tmp_path, request, receivers, engines
) -> None:
    receiver = receivers()
    if database == "sqlite":
        url = f"sqlite:///{tmp_path / 'server.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    one = WebhookDispatcher(engines(url), base_delay=0.05, poll_interval=0.05)
    two = WebhookDispatcher(engines(url), base_delay=0.05, poll_interval=0.05)
    hook, _ = one.store.create("proj_a", "r", receiver.url, ["memory_add"])
    try:
        two.worker.start()
        for n in range(12):
            (one if n % 2 else two).publish("proj_a", "memory_add", {"n": n})

        def all_delivered() -> list[Any] | None:
            rows = one.store.deliveries("proj_a", hook.webhook_id)
            return rows if [d.status for d in rows] == ["delivered"] * 12 else None

        rows = wait_for(all_delivered)
        time.sleep(0.2)  # a duplicate send, if any, would land now
    finally:
        one.close()
        two.close()
    sent = [r["headers"][DELIVERY] for r in receiver.requests]
    assert len(sent) == len(set(sent)) == 12
    assert all(d.attempts == 1 for d in rows)


def test_memory_writes_through_the_api_are_delivered(fast_live: LiveServer, receivers) -> None:
    receiver = receivers()
    with client(fast_live, "proj_a") as http:
        hook = register(
            http, "proj_a", receiver.url, ["memory_add", "memory_update", "memory_delete"]
        )
        added = http.post(
            "/v1/memories/",
            json={
                "messages": [{"role": "user", "content": "I like green tea"}],
                "user_id": "alex",
                "infer": False,
            },
        )
        assert added.status_code == 200, added.text
        memory_id = added.json()["results"][0]["id"]
        changed = http.put(f"/v1/memories/{memory_id}/", json={"text": "I like black tea"})
        assert changed.status_code == 200, changed.text
        assert http.delete(f"/v1/memories/{memory_id}/").status_code == 200
        rows = settled(http, hook["webhook_id"], count=3)

    assert {row["status"] for row in rows} == {"delivered"}
    payloads = [json.loads(r["body"]) for r in receiver.requests]
    by_event = {p["event"]: p["data"] for p in payloads}
    assert set(by_event) == {"memory_add", "memory_update", "memory_delete"}
    assert by_event["memory_add"]["id"] == memory_id
    assert by_event["memory_add"]["memory"] == "I like green tea"
    assert by_event["memory_update"]["id"] == memory_id
    assert by_event["memory_delete"]["id"] == memory_id
    for request in receiver.requests:
        assert verify_signature(hook["secret"], request["body"], request["headers"][SIGNATURE])


def test_the_platform_client_manages_webhooks(fast_live: LiveServer, receivers) -> None:
    os.environ.setdefault("MEM0_TELEMETRY", "False")
    from mem0 import MemoryClient

    receiver = receivers()
    platform = MemoryClient(api_key=fast_live.new_key("proj_a"), host=fast_live.url)
    created = platform.create_webhook(
        url=receiver.url, name="Memory Logger", project_id="proj_a", event_types=["memory_add"]
    )
    assert created["project"] == "proj_a" and created["secret"]
    (listed,) = platform.get_webhooks(project_id="proj_a")
    assert listed["webhook_id"] == created["webhook_id"] and listed["name"] == "Memory Logger"

    updated = platform.update_webhook(
        webhook_id=created["webhook_id"],
        name="Updated Logger",
        event_types=["memory_update", "memory_add"],
    )
    assert updated["message"] == "Webhook updated successfully"
    platform.add("I drink green tea", user_id="alex", infer=False)
    wait_for(lambda: receiver.requests)
    (request,) = receiver.requests
    assert verify_signature(created["secret"], request["body"], request["headers"][SIGNATURE])

    deleted = platform.delete_webhook(webhook_id=created["webhook_id"])
    assert deleted == {"message": "Webhook deleted successfully"}
    assert platform.get_webhooks(project_id="proj_a") == []


def test_a_slow_receiver_does_not_hold_up_requests_and_times_out(
    live_server: LiveServer, receivers
) -> None:
    gate = threading.Event()
    receiver = receivers(hold=gate)
    live_server.app.state.events.policy = RetryPolicy(max_attempts=1, timeout=1.5)
    with client(live_server, "proj_a") as http:
        hook = register(http, "proj_a", receiver.url, ["memory_add"])
        message = [{"role": "user", "content": "I like green tea"}]
        answer = http.post(
            "/v1/memories/", json={"messages": message, "infer": False, "user_id": "u"}
        )
        assert answer.status_code == 200, answer.text
        # The write is answered while its delivery has not finished (the receiver holds it).
        (row,) = deliveries(http, hook["webhook_id"])
        assert row["status"] == "pending" and row["attempts"] == 0
        (row,) = settled(http, hook["webhook_id"])
    gate.set()
    assert row["status"] == "failed"
    assert "Timeout" in row["last_error"]
    assert len(receiver.requests) == 1


def test_finished_deliveries_are_pruned_pending_ones_kept(tmp_path, engines) -> None:
    store = WebhookStore(engines(f"sqlite:///{tmp_path / 'server.db'}"))
    hook, _ = store.create("proj_a", "r", "http://127.0.0.1:9/", ["memory_add"])
    for n in range(3):
        store.record_event("proj_a", "memory_add", lambda d, n=n: json.dumps({"n": n}), 1000.0)
    done, failed, _pending = store.claim_due("me", 3, 60.0, 1000.0)
    for claimed, status in ((done, "delivered"), (failed, "failed")):
        store.record_attempt(
            "me",
            claimed.delivery_id,
            attempt=1,
            at=1000.0,
            duration_ms=1.0,
            status_code=200 if status == "delivered" else 500,
            error=None,
            status=status,
            next_attempt_at=None,
        )
    assert store.prune(before=999.0) == 0  # nothing that old
    assert store.prune(before=2000.0) == 2
    (left,) = store.deliveries("proj_a", hook.webhook_id)
    assert left.status == "pending"
