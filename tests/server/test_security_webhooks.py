"""Webhooks and strangers: a receiver's signature check on a header anyone wrote (False,
never an exception); where a server that trusts not every key holder delivers (public
addresses only, when told); how many webhooks one project may fan an event out to."""

from __future__ import annotations

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import httpx
import pytest
from sqlalchemy import create_engine

from memkit.server._events import EVENT_TYPES
from memkit.server._webhook_delivery import private_address, sign, verify_signature
from memkit.server._webhooks import MAX_WEBHOOKS_PER_PROJECT, WebhookDispatcher

EVENTS = list(EVENT_TYPES)

BODY = b'{"event":"memory_add"}'
NOW = 1_700_000_000


@pytest.mark.parametrize(
    "header",
    [
        "t=1700000000,v1=\u00e9",  # compare_digest raises on non-ASCII text
        "t=\u00b2,v1=ab",  # isdigit() is True for "²", int() is not
        "t=\u0661\u0667,v1=ab",  # Arabic-Indic digits: int() takes them
        "",
        "t=,v1=",
        "v1=" + "0" * 64,
    ],
)
def test_a_malformed_signature_header_is_refused_not_raised(header) -> None:
    assert verify_signature("whsec_x", BODY, header, now=NOW) is False


def test_a_good_signature_still_passes_beside_a_malformed_candidate() -> None:
    good = sign("whsec_x", BODY, NOW)
    assert verify_signature("whsec_x", BODY, good + ",v1=\u00e9", now=NOW)
    assert not verify_signature("whsec_x", BODY, good, now=NOW + 301)


# -- where deliveries may go ---------------------------------------------------------


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "localhost",
        "api.localhost",
        "10.1.2.3",
        "192.168.0.10",
        "169.254.169.254",  # cloud metadata
        "0.0.0.0",
        "[::1]",
        "::ffff:127.0.0.1",
        "fe80::1%eth0",
        "224.0.0.1",
    ],
)
def test_non_public_hosts_are_named(host) -> None:
    assert private_address(host, resolve=False) is not None


@pytest.mark.parametrize("host", ["8.8.8.8", "2001:4860:4860::8888", "example.com"])
def test_public_addresses_and_unresolved_names_pass(host) -> None:
    assert private_address(host, resolve=False) is None


def test_a_name_is_judged_by_what_it_resolves_to() -> None:
    # localhost.: the trailing dot is the same name; a resolvable loopback name is caught.
    assert private_address("localhost.", resolve=True) is not None
    assert private_address("no-such-host.invalid", resolve=True) is None


def wait_for(check, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_a_public_only_dispatcher_refuses_to_post_to_loopback(tmp_path) -> None:
    received: list[bytes] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    receiver = HTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    engine = create_engine(f"sqlite:///{tmp_path / 'hooks.db'}")
    dispatcher = WebhookDispatcher(
        engine, max_attempts=1, poll_interval=0.05, allow_private_networks=False
    )
    try:
        port = receiver.server_address[1]
        hook, _ = dispatcher.store.create("proj", "local", f"http://127.0.0.1:{port}/", EVENTS)
        dispatcher.publish("proj", "memory_add", {"id": "m1"})
        hook_id = hook.webhook_id
        failed = wait_for(lambda: dispatcher.store.deliveries("proj", hook_id, status="failed"))
        assert "non-public address" in (failed[0].last_error or "")
        assert failed[0].last_status_code is None and received == []
    finally:
        dispatcher.close()
        receiver.shutdown()
        receiver.server_close()
        engine.dispose()


def test_registering_a_literal_private_address_is_refused_when_public_only(live_server) -> None:
    key = live_server.new_key("proj_a")
    headers = {"Authorization": f"Token {key}"}
    route = f"{live_server.url}/api/v1/webhooks/projects/proj_a/"
    body = {"name": "local", "url": "http://169.254.169.254/latest/"}
    # The default (self-hosted): a receiver beside the server is fine.
    assert httpx.post(route, json=body, headers=headers).status_code == 201
    live_server.app.state.events.worker.allow_private_networks = False
    refused = httpx.post(route, json=body, headers=headers)
    assert refused.status_code == 400 and "non-public" in refused.json()["detail"]
    made = httpx.post(route, json={**body, "url": "https://example.com/hook"}, headers=headers)
    assert made.status_code == 201
    moved = httpx.put(
        f"{live_server.url}/api/v1/webhooks/{made.json()['webhook_id']}/",
        json={"url": "http://[::1]:8080/"},
        headers=headers,
    )
    assert moved.status_code == 400


def test_a_project_has_a_bounded_number_of_webhooks(live_server) -> None:
    key = live_server.new_key("proj_a")
    headers = {"Authorization": f"Token {key}"}
    store = live_server.app.state.events.store
    for n in range(MAX_WEBHOOKS_PER_PROJECT):
        store.create("proj_a", f"h{n}", "http://127.0.0.1:9/", EVENTS)
    route = f"{live_server.url}/api/v1/webhooks/projects/proj_a/"
    refused = httpx.post(
        route, json={"name": "one more", "url": "http://127.0.0.1:9/"}, headers=headers
    )
    assert refused.status_code == 400 and "at most" in refused.json()["detail"]
    # Another project's webhooks do not count against this one.
    other = {"Authorization": f"Token {live_server.new_key('proj_b')}"}
    made = httpx.post(
        f"{live_server.url}/api/v1/webhooks/projects/proj_b/",
        json={"name": "first", "url": "http://127.0.0.1:9/"},
        headers=other,
    )
    assert made.status_code == 201


def test_a_receiver_dripping_its_answer_cannot_hold_a_sender(tmp_path) -> None:
    # httpx's timeout is per read: a head sent a line every 0.2 s never trips it.
    stop = threading.Event()
    listener = socket.create_server(("127.0.0.1", 0))

    def drip() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            try:
                conn.sendall(b"HTTP/1.1 200 OK\r\n")
                while not stop.wait(0.2):
                    conn.sendall(b"X-Slow: 1\r\n")
            except OSError:
                pass  # the sender hung up: what should happen

    threading.Thread(target=drip, daemon=True).start()
    engine = create_engine(f"sqlite:///{tmp_path / 'hooks.db'}")
    dispatcher = WebhookDispatcher(engine, max_attempts=1, timeout=0.5, poll_interval=0.05)
    try:
        port = listener.getsockname()[1]
        hook, _ = dispatcher.store.create("proj", "slow", f"http://127.0.0.1:{port}/", EVENTS)
        dispatcher.publish("proj", "memory_add", {"id": "m1"})
        hook_id = hook.webhook_id
        failed = wait_for(lambda: dispatcher.store.deliveries("proj", hook_id, status="failed"))
        assert "no answer within 1 s" in (failed[0].last_error or "")
        assert failed[0].last_status_code is None
    finally:
        stop.set()
        dispatcher.close()
        listener.close()
        engine.dispose()
