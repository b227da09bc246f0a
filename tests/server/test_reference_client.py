"""The done-when test: the reference document's code, through the platform's own client.

Every code example of /work/shared/reference/platform-advanced-memory-operations.txt runs
as written through mem0ai 1.0.11's ``MemoryClient`` and ``AsyncMemoryClient`` against a
live ``memkit serve`` on loopback (in-process: the same ``create_app`` under uvicorn; and
once as the ``memkit serve`` command itself, in a subprocess); only the construction
changes (``MemoryClient(api_key=..., host=...)``) and ``"<memory-id-here>"`` becomes a real
id. Where the document says what happens, it is asserted, its worked example of the
memories a conversation makes included. ``show`` stands where the document calls a method
for its effect: it awaits the call when the client is the async one.

Set-up the document leaves to the reader is marked as such: memories under the batch
examples' literal ids (no platform route chooses ids: they go in through memkit's own
client, exported from one project and imported, ids rewritten, into the document's, all
over HTTP to the same server), memories to list by category, date and keyword, and food
preferences for the spoken delete. Nothing is written behind the API.
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import io
import ipaddress
import os
import socket
import sys
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

# Before mem0 is imported: it reads its telemetry switch once, and makes its directory
# (~/.mem0 unless MEM0_DIR says otherwise), at import.
os.environ["MEM0_TELEMETRY"] = "False"
os.environ.setdefault("MEM0_DIR", os.path.join(tempfile.gettempdir(), "memkit-tests-mem0"))
import mem0.memory.telemetry
from mem0 import AsyncMemoryClient, MemoryClient
from mem0.exceptions import MemoryNotFoundError, MemoryQuotaExceededError

from memkit.client import MemoryClient as MemkitClient
from memkit.server import KeyStore, ServerSettings
from memkit.testing.live_server import LiveServer, free_port, serve_command

BATCH_IDS = ("285ed74b-6e05-4043-b16b-3abd5b533496", "2c9bd859-d1b7-4d33-a6b8-94e0147c4f07")
PROJECT = "reference"


_real_getaddrinfo = socket.getaddrinfo


def _loopback_names_only(host: Any, *args: Any, **kwargs: Any) -> Any:
    name = host.decode() if isinstance(host, bytes) else host
    if name not in (None, "localhost"):
        try:
            loopback = ipaddress.ip_address(name).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise RuntimeError(f"test tried to look up a name: {host!r}")
    return _real_getaddrinfo(host, *args, **kwargs)


@pytest.fixture(autouse=True)
def _no_name_lookups(monkeypatch) -> None:
    """tests/conftest.py's guard stops connections off loopback; this one stops the name
    lookups before them, which would leave the machine too."""
    monkeypatch.setattr(socket, "getaddrinfo", _loopback_names_only)


@pytest.fixture(autouse=True)
def _mem0_telemetry_off() -> None:
    """mem0ai sends nothing: its switch is off and its PostHog client was never made (the
    loopback guard of tests/conftest.py would stop a send, but in PostHog's own thread,
    where no test sees it)."""
    assert mem0.memory.telemetry.MEM0_TELEMETRY is False
    assert mem0.memory.telemetry.client_telemetry.posthog is None


async def show(value: Any) -> Any:
    """The call's result, awaited if the client is the async one."""
    return await value if inspect.isawaitable(value) else value


async def assert_not_found(call: Callable[[], Any]) -> None:
    """A 404: the sync client raises its MemoryNotFoundError; the async one lets httpx's
    error through (1.0.11's error decorator wraps coroutine functions without awaiting)."""
    with pytest.raises((MemoryNotFoundError, httpx.HTTPStatusError)) as caught:
        await show(call())
    if isinstance(caught.value, httpx.HTTPStatusError):
        assert caught.value.response.status_code == 404


def seed_batch_memories(url: str, seed_key: str, reference_key: str) -> None:
    """Set-up, over HTTP through memkit's own client: two of alex's memories under the ids
    the batch examples name (made in the key's project "seed", exported, ids rewritten,
    imported into the document's project)."""
    with MemkitClient(api_key=seed_key, host=url) as seed:
        made = [
            seed.add(text, user_id="alex", infer=False, categories=categories).results[0].id
            for text, categories in (
                ("Likes to play tennis", ["likes"]),
                ("Hates flying", ["travel"]),
            )
        ]
        out = io.StringIO()
        seed.export(out, embeddings=False)
    text = out.getvalue()
    for old, new in zip(made, BATCH_IDS, strict=True):
        assert old in text
        text = text.replace(old, new)
    with MemkitClient(api_key=reference_key, host=url) as reference:
        imported = reference.import_(io.StringIO(text))
    assert (imported.total, imported.added) == (2, 2)


def texts(page: dict[str, Any]) -> list[str]:
    return [m["memory"] for m in page["results"]]


async def run_reference_document(client: Any) -> None:
    # The document's code is kept as it is written there, spacing and all.
    # fmt: off
    # ---- Detailed Memory Creation Examples: long-term memory with full context
    messages = [
        {"role": "user", "content": "Hi, I'm Alex. I'm a vegetarian and I'm allergic to nuts."},
        {"role": "assistant", "content": "Hello Alex! I've noted that you're a vegetarian and have a nut allergy. I'll keep this in mind for any food-related recommendations or discussions."}  # noqa: E501
    ]

    added = await show(client.add(messages, user_id="alex", metadata={"food": "vegan"}))
    assert added["results"] and {e["event"] for e in added["results"]} == {"ADD"}
    alex = await show(client.get_all(user_id="alex"))
    assert any("vegetarian" in t.lower() for t in texts(alex))
    assert any("nuts" in t.lower() for t in texts(alex))
    ids = {e["id"] for e in added["results"]}
    assert all(m["metadata"] == {"food": "vegan"} for m in alex["results"] if m["id"] in ids)
    assert all("noted" not in t for t in texts(alex))  # memories come from the user's words

    # The document's worked example (a conversation, no code): "Resulting user memories:
    # memory1 - Likes Italian food / memory2 - Doesn't like Indian food since cannot eat
    # spicy", memory2 from the user's answer to the assistant's question.
    example = await show(client.add(
        [
            {"role": "user", "content": "My favorite cuisine is Italian"},
            {"role": "assistant", "content": "Nice! What about Indian cuisine?"},
            {"role": "user", "content": "Don't like it much since I cannot eat spicy food"},
        ],
        user_id="cuisine-example",
    ))
    assert [e["event"] for e in example["results"]] == ["ADD", "ADD"]
    memory1, memory2 = [e["memory"] for e in example["results"]]
    assert sorted(texts(await show(client.get_all(user_id="cuisine-example")))) == sorted(
        [memory1, memory2]
    )
    assert "Italian" in memory1 and "Indian" not in memory1
    assert "Indian" in memory2 and "spicy" in memory2
    assert "n't like" in memory2 or "not like" in memory2 or "dislike" in memory2.lower()

    # ---- Short-term memory for sessions
    messages = [
        {"role": "user", "content": "I'm planning a trip to Japan next month."},
        {"role": "assistant", "content": "That's exciting, Alex! A trip to Japan next month sounds wonderful. Would you like some recommendations for vegetarian-friendly restaurants in Japan?"},  # noqa: E501
        {"role": "user", "content": "Yes, please! Especially in Tokyo."},
        {"role": "assistant", "content": "Great! I'll remember that you're interested in vegetarian restaurants in Tokyo for your upcoming trip. I'll prepare a list for you in our next interaction."}  # noqa: E501
    ]

    await show(client.add(messages, user_id="alex", run_id="trip-planning-2024"))
    trip = await show(client.get_all(user_id="alex", run_id="trip-planning-2024"))
    assert any("japan" in t.lower() for t in texts(trip))
    assert all(m["run_id"] == "trip-planning-2024" for m in trip["results"])

    # ---- Agent memories
    messages = [
        {"role": "system", "content": "You are an AI tutor with a personality. Give yourself a name for the user."},  # noqa: E501
        {"role": "assistant", "content": "Understood. I'm an AI tutor with a personality. My name is Alice."}  # noqa: E501
    ]

    await show(client.add(messages, agent_id="ai-tutor"))
    tutor = await show(client.get_all(agent_id="ai-tutor"))
    assert any("Alice" in t for t in texts(tutor))
    assert all("Give yourself" not in t for t in texts(tutor))  # the system message is not
    assert all(m["agent_id"] == "ai-tutor" and m["user_id"] is None for m in tutor["results"])

    # ---- Dual user and agent memories
    messages = [
        {"role": "user", "content": "I'm travelling to San Francisco"},
        {"role": "assistant", "content": "That's great! I'm going to Dubai next month."},
    ]

    await show(client.add(messages=messages, user_id="user1", agent_id="agent1"))
    user1 = await show(client.get_all(user_id="user1"))
    agent1 = await show(client.get_all(agent_id="agent1"))
    assert any("San Francisco" in t for t in texts(user1))
    assert not any("Dubai" in t for t in texts(user1))
    assert any("Dubai" in t for t in texts(agent1))
    assert all(m["agent_id"] is None for m in user1["results"])
    assert all(m["user_id"] is None for m in agent1["results"])

    # ---- Search, example 1: user_id and agent_id filters
    query = "What do you know about me?"
    filters = {
       "OR":[
          {
             "user_id":"alex"
          },
          {
             "agent_id":{
                "in":[
                   "travel-assistant",
                   "customer-support"
                ]
             }
          }
       ]
    }
    hits = await show(client.search(query, version="v2", filters=filters))
    assert hits["results"]
    assert all(
        h["user_id"] == "alex" or h["agent_id"] in ("travel-assistant", "customer-support")
        for h in hits["results"]
    )
    assert [h["score"] for h in hits["results"]] == sorted(
        (h["score"] for h in hits["results"]), reverse=True
    )

    # ---- Example 2: date filters (an empty range: nothing, and no error)
    query = "What do you know about me?"
    filters = {
        "AND": [
            {"created_at": {"gte": "2024-07-20", "lte": "2024-07-10"}},
            {"user_id": "alex"}
        ]
    }
    hits = await show(client.search(query, version="v2", filters=filters))
    assert hits == {"results": []}

    # ---- Example 3: metadata and categories
    query = "What do you know about me?"
    filters = {
        "AND": [
            {"metadata": {"food": "vegan"}},
            {
             "categories":{
                "contains": "food_preferences"
             }
        }
        ]
    }
    hits = await show(client.search(query, version="v2", filters=filters))
    assert hits["results"]
    for hit in hits["results"]:
        assert hit["metadata"]["food"] == "vegan" and "food_preferences" in hit["categories"]

    # ---- Example 4: NOT filters
    query = "What do you know about me?"
    filters = {
        "NOT": [
            {
                "categories": {
                    "contains": "food_preferences"
                }
            }
        ]
    }
    hits = await show(client.search(query, version="v2", filters=filters))
    assert hits["results"]
    assert all("food_preferences" not in h["categories"] for h in hits["results"])

    # ---- Example 5: wildcard filters
    query = "What do you know about me?"
    filters = {
        "AND": [
            {
                "user_id": "alex"
            },
            {
                "run_id": "*"  # Matches all run_ids
            }
        ]
    }
    hits = await show(client.search(query, version="v2", filters=filters))
    assert hits["results"]
    assert all(h["user_id"] == "alex" and h["run_id"] for h in hits["results"])

    # ---- Get all memories of a user, with pagination
    memories = await show(client.get_all(user_id="alex", page=1, page_size=50))
    assert (memories["page"], memories["page_size"], memories["previous"]) == (1, 50, None)
    assert memories["count"] == len(memories["results"]) and memories["count"] >= 5
    assert all(m["user_id"] == "alex" for m in memories["results"])

    # ---- Get all memories by categories (set-up: the seeded "Likes to play tennis")
    memories = await show(client.get_all(user_id="alex", categories=["likes"]))
    assert "Likes to play tennis" in texts(memories)
    assert memories["page_size"] == 100  # "with 100 memories per page by default"
    assert all("likes" in m["categories"] for m in memories["results"])

    memories = await show(client.get_all(user_id="alex", categories=["likes", "food_preferences"]))
    assert "Likes to play tennis" in texts(memories)
    assert any("vegetarian" in t.lower() for t in texts(memories))
    assert all(
        {"likes", "food_preferences"} & set(m["categories"]) for m in memories["results"]
    )

    memories = await show(client.get_all(user_id="alex", categories=["likes"], page=1, page_size=50))  # noqa: E501
    assert "Likes to play tennis" in texts(memories) and memories["page_size"] == 50

    memories = await show(client.get_all(user_id="alex", keywords="to play", page=1, page_size=50))
    assert texts(memories) == ["Likes to play tennis"]

    # ---- Get all memories using custom filters (set-up: one memory of July 2024)
    july = datetime(2024, 7, 15, 12, tzinfo=UTC).timestamp()
    await show(
        client.add(
            "Loves tofu curry", user_id="alex", infer=False,
            categories=["food_preferences"], timestamp=int(july),
        )
    )
    filters = {
       "AND":[
          {
             "user_id":"alex"
          },
          {
             "created_at":{
                "gte":"2024-07-01",
                "lte":"2024-07-31"
             }
          },
          {
             "categories":{
                "contains": "food_preferences"
             }
          }
       ]
    }

    # Default (No Pagination)
    july_page = await show(client.get_all(version="v2", filters=filters))
    assert texts(july_page) == ["Loves tofu curry"]
    assert july_page["results"][0]["created_at"].startswith("2024-07-15")

    # Pagination (You can also use the page and page_size parameters)
    july_page = await show(client.get_all(version="v2", filters=filters, page=1, page_size=50))
    assert (july_page["count"], july_page["page_size"]) == (1, 50)

    # ---- Memory history
    # Add some message to create history
    messages = [{"role": "user", "content": "I recently tried chicken and I loved it. I'm thinking of trying more non-vegetarian dishes.."}]  # noqa: E501
    first = await show(client.add(messages, user_id="alex"))

    # Add second message to update history
    messages.append({'role': 'user', 'content': 'I turned vegetarian now.'})
    second = await show(client.add(messages, user_id="alex"))

    assert any("chicken" in e["memory"].lower() for e in first["results"] if e["event"] == "ADD")
    changed = [e for e in second["results"] if e["event"] == "UPDATE"]
    assert changed and changed[0]["previous_memory"]

    # Get history of how memory changed over time
    memory_id = changed[0]["id"]  # the document's "<memory-id-here>"
    history = await show(client.history(memory_id))
    # alex said he was a vegetarian earlier: that memory changed twice in these two adds
    events = [h["event"] for h in history]
    assert events[0] == "ADD" and set(events[1:]) == {"UPDATE"} and len(events) >= 2
    assert history[-1]["old_memory"] == changed[0]["previous_memory"]
    assert history[-1]["new_memory"] == changed[0]["memory"]
    assert [h["new_memory"] for h in history[:-1]] == [h["old_memory"] for h in history[1:]]

    # ---- Update memory
    updated = await show(client.update(
        memory_id=memory_id,
        text="I am now a vegetarian.",
        metadata={"diet": "vegetarian"}
    ))
    assert (updated["id"], updated["memory"]) == (memory_id, "I am now a vegetarian.")
    assert updated["metadata"] == {"diet": "vegetarian"}
    assert (await show(client.get(memory_id)))["memory"] == "I am now a vegetarian."

    # ---- Batch update memories
    update_memories = [
        {
            "memory_id": "285ed74b-6e05-4043-b16b-3abd5b533496",
            "text": "Watches football"
        },
        {
            "memory_id": "2c9bd859-d1b7-4d33-a6b8-94e0147c4f07",
            "text": "Loves to travel"
        }
    ]

    response = await show(client.batch_update(update_memories))
    print(response)
    assert response == {"message": "Successfully updated 2 memories", "count": 2}
    for memory_id_, text in zip(BATCH_IDS, ("Watches football", "Loves to travel"), strict=True):
        assert (await show(client.get(memory_id_)))["memory"] == text

    # ---- Batch delete memories
    delete_memories = [
        {"memory_id": "285ed74b-6e05-4043-b16b-3abd5b533496"},
        {"memory_id": "2c9bd859-d1b7-4d33-a6b8-94e0147c4f07"}
    ]

    response = await show(client.batch_delete(delete_memories))
    print(response)
    assert response == {"message": "Successfully deleted 2 memories", "count": 2}
    for memory_id_ in BATCH_IDS:
        await assert_not_found(lambda: client.get(memory_id_))  # noqa: B023 (awaited here)

    # ---- Get all users
    entities = await show(client.users())
    named = {(e["type"], e["name"]) for e in entities["results"]}
    assert {
        ("user", "alex"), ("run", "trip-planning-2024"), ("agent", "ai-tutor"),
        ("user", "user1"), ("agent", "agent1"),
    } <= named
    assert entities["count"] == len(entities["results"])

    # ---- Delete operations
    deleted = await show(client.delete(memory_id))
    assert deleted["message"] == "Memory deleted successfully!"
    await assert_not_found(lambda: client.get(memory_id))

    await show(client.delete_all(user_id="alex"))
    assert (await show(client.get_all(user_id="alex")))["count"] == 0

    # (set-up: alex has memories again, so deleting the user has something to remove)
    await show(client.add("Lives in Lyon", user_id="alex", infer=False))
    assert ("user", "alex") in {(e["type"], e["name"]) for e in (await show(client.users()))["results"]}  # noqa: E501

    # Delete specific user
    gone = await show(client.delete_users(user_id="alex"))
    assert gone == {"message": "Entity deleted successfully."}
    left = {(e["type"], e["name"]) for e in (await show(client.users()))["results"]}
    assert ("user", "alex") not in left and ("agent", "ai-tutor") in left
    assert (await show(client.get_all(user_id="alex")))["count"] == 0

    # Delete specific agent
    # client.delete_users(agent_id="travel-assistant")

    # ---- Reset client
    reset = await show(client.reset())
    assert reset == {"message": "Client reset successful. All users and memories deleted."}
    assert (await show(client.users()))["results"] == []
    assert (await show(client.get_all(version="v2", filters={"user_id": "*"})))["count"] == 0

    # ---- Natural language delete (set-up: alex's food preferences, and where he lives)
    await show(client.add(
        [{"role": "user", "content": "I'm a vegetarian, allergic to nuts. I live in Paris."}],
        user_id="alex",
    ))
    messages = [
        {"role": "user", "content": "Delete all of my food preferences"}
    ]
    spoken = await show(client.add(messages, user_id="alex"))
    assert [e for e in spoken["results"] if e["event"] == "DELETE"]
    left_texts = " | ".join(texts(await show(client.get_all(user_id="alex")))).lower()
    assert "vegetarian" not in left_texts and "paris" in left_texts
    # fmt: on


@pytest.fixture
def reference_server(live_server: LiveServer) -> LiveServer:
    seed_batch_memories(live_server.url, live_server.new_key("seed"), live_server.new_key(PROJECT))
    return live_server


def test_reference_document_through_memory_client(reference_server: LiveServer) -> None:
    key = reference_server.new_key(PROJECT)
    client = MemoryClient(api_key=key, host=reference_server.url)
    assert (client.org_id, client.project_id) == ("local", PROJECT)  # read from /v1/ping/
    asyncio.run(run_reference_document(client))


def test_reference_document_through_async_memory_client(reference_server: LiveServer) -> None:
    key = reference_server.new_key(PROJECT)

    async def main() -> None:
        client = AsyncMemoryClient(api_key=key, host=reference_server.url)
        await run_reference_document(client)

    asyncio.run(main())


@pytest.fixture
def memkit_serve(tmp_path: Path) -> Iterator[tuple[str, KeyStore]]:
    """The ``memkit serve`` command in a subprocess on a free loopback port, on a home of
    its own: (url, the home's key store)."""
    home, port = tmp_path / "server", free_port()
    home.mkdir()
    keys = KeyStore(ServerSettings(home=home).keys_url())
    command = [sys.executable, "-m", "memkit.cli", "serve", "--port", str(port)]
    env = {
        **os.environ,
        "MEMKIT_HOME": str(tmp_path / "memkit-home"),
        "ANONYMIZED_TELEMETRY": "False",
    }
    argv = [*command, "--home", str(home), "--log-level", "warning"]
    try:
        with serve_command(argv, port, env=env) as (url, _):
            yield url, keys
    finally:
        keys.close()


def test_reference_document_against_the_memkit_serve_command(
    memkit_serve: tuple[str, KeyStore],
) -> None:
    url, keys = memkit_serve
    seed_batch_memories(url, keys.create_key("seed", "t")[1], keys.create_key(PROJECT, "t")[1])
    client = MemoryClient(api_key=keys.create_key(PROJECT, "t")[1], host=url)
    asyncio.run(run_reference_document(client))


def test_async_quickstart_as_written(live_server: LiveServer, monkeypatch, capsys) -> None:
    """The document's first example, with the key in MEM0_API_KEY as it sets it; its
    top-level ``await main()`` is ``asyncio.run(main())`` outside a notebook."""
    monkeypatch.setenv("MEM0_API_KEY", live_server.new_key("quickstart"))
    client = AsyncMemoryClient(host=live_server.url)

    # fmt: off
    async def main():
        messages = [
            {"role": "user", "content": "I'm travelling to SF"}
        ]
        response = await client.add(messages, user_id="john")
        print(response)

    asyncio.run(main())
    # fmt: on

    response = ast.literal_eval(capsys.readouterr().out.strip())  # what print showed
    assert [(e["event"], e["user_id"]) for e in response["results"]] == [("ADD", "john")]
    assert "SF" in response["results"][0]["memory"]
    john = live_server.memory("quickstart").get_all(user_id="john")
    assert [m.memory for m in john.results] == [response["results"][0]["memory"]]


def test_batches_of_up_to_1000_memories(live_server: LiveServer) -> None:
    """ "You can update up to 1000 memories at once" and "delete up to 1000": a batch of
    1000 goes through the platform's client; 1001 is refused whole (the client's 413
    error) and changes nothing."""
    client = MemoryClient(api_key=live_server.new_key("batches"), host=live_server.url)
    facts = [{"role": "user", "content": f"Fact number {n}"} for n in range(1000)]
    ids = [e["id"] for e in client.add(facts, user_id="alex", infer=False)["results"]]
    assert len(set(ids)) == 1000

    update_memories = [{"memory_id": i, "text": f"Updated fact {n}"} for n, i in enumerate(ids)]
    too_many = [*update_memories, update_memories[0]]
    with pytest.raises(MemoryQuotaExceededError):
        client.batch_update(too_many)
    assert client.get(ids[0])["memory"] == "Fact number 0"
    response = client.batch_update(update_memories)
    assert response == {"message": "Successfully updated 1000 memories", "count": 1000}
    assert client.get(ids[999])["memory"] == "Updated fact 999"

    delete_memories = [{"memory_id": i} for i in ids]
    with pytest.raises(MemoryQuotaExceededError):
        client.batch_delete([*delete_memories, delete_memories[0]])
    assert client.get_all(user_id="alex", page=1, page_size=1)["count"] == 1000
    response = client.batch_delete(delete_memories)
    assert response == {"message": "Successfully deleted 1000 memories", "count": 1000}
    assert client.get_all(user_id="alex", page=1, page_size=1)["count"] == 0
