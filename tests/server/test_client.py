"""memkit's own client: Memory's methods, results and errors, over a `memkit serve`.

The parity suite (the ``memory`` fixture's "client" variant) runs every behaviour
through ``MemoryClient``; these tests hold what is the client's own: its signatures, its
key and host, its async twin, its errors, and the ``/v1/memkit/`` routes' tenancy.
"""

from __future__ import annotations

import asyncio
import inspect
import io
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from memkit import AsyncMemory, Memory
from memkit.client import (
    AsyncMemoryClient,
    AuthenticationError,
    MemoryClient,
    ServerError,
    ServerUnavailableError,
)
from memkit.client._wire import rebuild_error
from memkit.errors import (
    ExtractionError,
    ImmutableMemoryError,
    InvalidFilterError,
    InvalidInputError,
    MemoryNotFoundError,
)
from memkit.models import AddResult, HistoryEntry, MemoryRecord, Page, SearchResult, StoreHealth
from memkit.server import ServerSettings
from memkit.server._routes_memkit import Operation
from memkit.testing.live_server import LiveServer, RecordingSink, free_port


@pytest.fixture(scope="module")
def live(tmp_path_factory) -> Iterator[LiveServer]:
    """One server for the module; each test takes a project of its own."""
    with LiveServer(ServerSettings(home=tmp_path_factory.mktemp("client-tests"))) as server:
        yield server


@pytest.fixture
def project(request) -> str:
    return f"p{abs(hash(request.node.nodeid)) % 10**12}"


@pytest.fixture
def client(live, project) -> Iterator[MemoryClient]:
    with MemoryClient(api_key=live.new_key(project), host=live.url) as memory:
        yield memory


def _public_methods(cls: type) -> list[str]:
    return sorted(n for n in dir(cls) if not n.startswith("_") and callable(getattr(cls, n)))


def _shape(function: Any) -> tuple[Any, ...]:
    signature = inspect.signature(function)
    params = [(p.name, p.kind, p.default, p.annotation) for p in signature.parameters.values()]
    return (params, signature.return_annotation)


@pytest.mark.parametrize(
    ("embedded", "remote"), [(Memory, MemoryClient), (AsyncMemory, AsyncMemoryClient)]
)
def test_the_clients_have_exactly_the_embedded_methods_and_signatures(embedded, remote):
    """One line moves code from embedded to served: every method, parameter, default and
    annotation is the same (``from_config`` builds a store, which a client has not)."""
    wanted = [n for n in _public_methods(embedded) if n != "from_config"]
    assert [n for n in _public_methods(remote) if n != "sync"] == wanted
    for name in wanted:
        ours, theirs = getattr(embedded, name), getattr(remote, name)
        assert inspect.iscoroutinefunction(theirs) == inspect.iscoroutinefunction(ours), name
        assert _shape(theirs) == _shape(ours), name


def test_every_memory_method_has_a_route(live):
    """The route's operations are exactly the methods the client sends (all but close)."""
    assert sorted(op.value for op in Operation) == [
        n for n in _public_methods(Memory) if n not in {"close", "from_config"}
    ]


def test_results_are_memkit_models_with_the_embedded_values(client, live, project):
    added = client.add("I'm a vegetarian and allergic to nuts", user_id="alex")
    assert isinstance(added, AddResult) and added.results[0].event == "ADD"
    memory_id = added.results[0].id
    record = client.get(memory_id)
    assert isinstance(record, MemoryRecord)
    assert record == live.memory(project).get(memory_id)  # the server's store, read directly
    assert isinstance(record.created_at, datetime) and record.created_at.tzinfo is not None
    hits = client.search("what can alex eat?", user_id="alex")
    assert isinstance(hits, SearchResult) and hits.results[0].id == memory_id
    assert isinstance(client.get_all(user_id="alex"), Page)
    updated = client.update(memory_id, "Is vegan", expiration_date=date(2099, 1, 1))
    assert (updated.memory, updated.expiration_date) == ("Is vegan", "2099-01-01")
    history = client.history(memory_id)
    assert [type(h) for h in history] == [HistoryEntry, HistoryEntry]
    assert [h.event for h in history] == ["ADD", "UPDATE"]
    assert client.users().results[0].id == "alex"
    assert isinstance(client.check(repair=False), StoreHealth)
    (row, *_) = client.activity(limit=5)
    assert row["kind"] == "users" and isinstance(row["created_at"], datetime)
    assert client.delete(memory_id).count == 1


def test_server_errors_are_raised_as_the_embedded_types(client):
    with pytest.raises(MemoryNotFoundError) as missing:
        client.get("no-such-id")
    assert missing.value.memory_id == "no-such-id"
    assert str(missing.value) == "no memory with id 'no-such-id'"
    with pytest.raises(InvalidFilterError) as bad:
        client.search("x", filters={"AND": [{"user_id": "a"}, {"created_at": {"near": 1}}]})
    assert bad.value.path[:2] == ("AND", 1)
    (event,) = client.add("Has a Pro plan", user_id="a", infer=False, immutable=True).results
    with pytest.raises(ImmutableMemoryError):
        client.update(event.id, "Has a Free plan")
    with pytest.raises(InvalidInputError, match="async_mode"):
        client.add("x", user_id="a", async_mode=True)  # Memory's rule, not the platform's


@pytest.mark.parametrize(
    "call",
    [
        lambda m: m.add("x", user_id="a", metadata={"when": object()}),
        lambda m: m.add("x", user_id="a", metadata={"tags": {1, 2}}),
        lambda m: m.add("x", user_id="a", metadata={"n": float("nan")}),
        lambda m: m.add(b"bytes", user_id="a"),
        lambda m: m.search("x", user_id="a", top_k=0),
        lambda m: m.add("x", user_id="a", org_id="someone-else"),
    ],
)
def test_a_value_json_cannot_carry_is_refused_as_in_process(client, call):
    """Arguments arrive as given (tagged when JSON cannot say them), so Memory's own checks
    refuse them on the server with the type they raise in process."""
    with Memory() as memory, pytest.raises(Exception) as embedded:
        call(memory)
    with pytest.raises(Exception) as remote:
        call(client)
    assert type(remote.value) is type(embedded.value), remote.value


def test_dates_and_datetimes_arrive_as_such(client):
    when = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
    (event,) = client.add("Moved to Oslo", user_id="a", infer=False, timestamp=when).results
    assert client.get(event.id).created_at == when


def test_export_and_import_move_a_store_through_files_on_the_clients_side(client, live, tmp_path):
    client.add(["Lives in Oslo", "Plays chess"], user_id="a", infer=False)
    path = tmp_path / "backup.jsonl"
    exported = client.export(path)
    assert exported.count == 2 and path.read_text().count("\n") == 3
    with pytest.raises(InvalidInputError, match="no directory"):
        client.export(tmp_path / "missing" / "x.jsonl")  # checked here, before any request
    stream = io.StringIO()
    client.export(stream, user_id="a", embeddings=False)
    assert stream.getvalue().splitlines()[1:] != []
    with MemoryClient(api_key=live.new_key("other_project"), host=live.url) as other:
        assert other.import_(path).added == 2
        assert other.import_(path.read_text().splitlines(keepends=True)).skipped == 2
        assert sorted(m.memory for m in other.get_all(user_id="a").results) == [
            "Lives in Oslo",
            "Plays chess",
        ]


def test_transcripts_pending_and_usage_travel_too(client):
    client.append_messages("s1", [{"role": "user", "content": "hi"}])
    (message,) = client.get_messages("s1", last=1)
    assert (message.role, message.content) == ("user", "hi")
    client.clear_messages("s1")
    assert client.get_messages("s1") == []
    assert client.pending() == []
    assert client.usage()["adds"] == 0
    with pytest.raises(InvalidInputError):
        client.replay("")


def test_a_project_sees_only_its_own_memories_whatever_it_sends(live, client):
    (event,) = client.add("Secret plan", user_id="alex", infer=False).results
    with MemoryClient(api_key=live.new_key("intruder"), host=live.url) as intruder:
        with pytest.raises(MemoryNotFoundError):
            intruder.get(event.id)
        assert intruder.get_all(user_id="alex").count == 0
        assert intruder.search("plan", filters={"user_id": "alex"}).results == []
        with pytest.raises(MemoryNotFoundError):
            intruder.delete(event.id)
    assert client.get(event.id).memory == "Secret plan"


def test_the_routes_refuse_a_missing_wrong_revoked_or_foreign_key(live, project, client):
    client.add("x", user_id="a", infer=False)
    key, secret = live.keys.create_key(project, "to-revoke")
    live.keys.revoke_key(key.id)
    refused = {
        401: [{}, {"Authorization": "Token mk_wrong"}, {"Authorization": f"Token {secret}"}],
        403: [{"Authorization": f"Token {live.new_key('foreign_project')}"}],
    }
    with httpx.Client(base_url=live.url, verify=False) as http:
        for operation in Operation:
            for status, headers in ((s, h) for s, hs in refused.items() for h in hs):
                answer = http.post(
                    f"/v1/memkit/{operation.value}/",
                    params={"project_id": project},
                    json={},
                    headers=headers,
                )
                assert answer.status_code == status, (operation, headers)
    assert client.get_all(user_id="a").count == 1


def test_the_client_reports_bad_keys_and_unreachable_servers_clearly(live, monkeypatch):
    monkeypatch.delenv("MEMKIT_API_KEY", raising=False)
    with pytest.raises(AuthenticationError, match="MEMKIT_API_KEY"):
        MemoryClient(host=live.url)
    with pytest.raises(AuthenticationError, match="invalid API key"):
        MemoryClient(api_key="mk_wrong", host=live.url).users()
    with pytest.raises(ServerUnavailableError, match="memkit server"):
        MemoryClient(api_key="k", host=f"http://127.0.0.1:{free_port()}").users()
    with pytest.raises(InvalidInputError, match="host"):
        MemoryClient(api_key="k", host="127.0.0.1:8000")


def test_key_and_host_come_from_the_environment(live, project, monkeypatch):
    monkeypatch.setenv("MEMKIT_API_KEY", live.new_key(project))
    monkeypatch.setenv("MEMKIT_HOST", live.url)
    with MemoryClient() as memory:
        assert memory.host == live.url
        assert memory.users().count == 0


def test_a_closed_client_refuses_calls_and_leaves_the_store_open(live, project):
    memory = MemoryClient(api_key=live.new_key(project), host=live.url)
    memory.add("Likes tea", user_id="a", infer=False)
    memory.close()
    with pytest.raises(InvalidInputError, match="closed"):
        memory.users()
    assert live.memory(project).get_all(user_id="a").count == 1


def test_an_error_the_client_does_not_know_is_a_server_error():
    assert type(rebuild_error({"error": "Nonsense", "detail": "boom"}, ServerError)) is ServerError
    error = rebuild_error(
        {"error": "ExtractionError", "message": "m", "attributes": {"pending_id": "p1"}},
        ServerError,
    )
    assert isinstance(error, ExtractionError) and error.pending_id == "p1"


def test_the_async_client_mirrors_the_sync_one(live, project, tmp_path: Path):
    async def scenario() -> None:
        async with AsyncMemoryClient(api_key=live.new_key(project), host=live.url) as memory:
            added = await asyncio.gather(
                *(memory.add(f"Visited city {i}", user_id="a", infer=False) for i in range(6))
            )
            assert all(isinstance(a, AddResult) for a in added)
            assert (await memory.get_all(user_id="a")).count == 6
            hits = await memory.search("city", user_id="a", top_k=3)
            assert len(hits.results) == 3
            with pytest.raises(MemoryNotFoundError):
                await memory.get("missing")
            assert (await memory.export(tmp_path / "a.jsonl")).count == 6
            assert memory.sync.get_all(user_id="a").count == 6  # its blocking twin
        with pytest.raises(InvalidInputError, match="closed"):
            await memory.users()

    asyncio.run(scenario())


def test_the_clients_writes_reach_webhooks_as_the_platform_routes_send_them(
    live, client, project, monkeypatch
):
    sink = RecordingSink()
    monkeypatch.setattr(live.app.state, "events", sink)
    (event,) = client.add("Likes tea", user_id="a", infer=False).results
    client.update(event.id, "Likes green tea")
    client.get(event.id)  # reads send nothing
    client.delete(event.id)
    client.add("Likes coffee", user_id="a", infer=False)
    client.delete_all(user_id="a")
    assert [(p, kind) for p, kind, _ in sink.events] == [
        (project, "memory_add"),
        (project, "memory_update"),
        (project, "memory_delete"),
        (project, "memory_add"),
        (project, "memory_delete"),
    ]
    assert sink.events[0][2]["memory"] == "Likes tea"
    assert sink.events[2][2] == {"id": event.id}
    assert sink.events[4][2] == {"ids": None, "filter": {"user_id": "a"}, "count": 1}
