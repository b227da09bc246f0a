"""The platform guide's workflow on memkit's embedded default, printed step by step.

Run with ``make demo``. Uses a fresh store in a temporary directory, so your own
memories under ~/.memkit are never touched. Against a ``memkit serve`` instead:

    python cookbook/quickstart.py --host http://127.0.0.1:8000 --api-key mk_... --keep

(``--keep`` leaves the memories and the activity in place, for the dashboard to show.)
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from typing import Any

from memkit import AsyncMemory, Memory
from memkit.client import AsyncMemoryClient, MemoryClient
from memkit.errors import InvalidFilterError


def show(title: str, result: Any = None) -> None:
    print(f"\n== {title}")
    if result is None:
        return
    rows = result.results if hasattr(result, "results") else result
    for row in rows:
        data = row.model_dump(mode="json")
        if "event" in data and "memory" in data and "memory_id" not in data:
            extra = f"  (was: {data['previous_memory']})" if data.get("previous_memory") else ""
            print(f"  {data['event']:<6} {data['memory']}{extra}")
        elif "score" in data:
            owner = data["user_id"] or data["agent_id"]
            print(f"  {data['score']:.3f}  [{owner}] {data['memory']}  {data['categories']}")
        elif "total_memories" in data:
            print(f"  {data['type']:<5} {data['id']:<20} {data['total_memories']} memories")
        elif "old_memory" in data:
            print(f"  {data['event']:<6} {data['old_memory']!r} -> {data['new_memory']!r}")
        else:
            owner = data["user_id"] or data["agent_id"]
            print(f"  [{owner}] {data['memory']}  {data['categories']} {data['metadata'] or ''}")


def main(client: Memory | MemoryClient, *, keep: bool = False) -> None:
    """The workflow on ``client``; unless ``keep``, it ends deleting everything it wrote."""

    show(
        "add: long-term memory with full context",
        client.add(
            [
                {
                    "role": "user",
                    "content": "Hi, I'm Alex. I'm a vegetarian and I'm allergic to nuts.",
                },
                {
                    "role": "assistant",
                    "content": "Hello Alex! I've noted that you're a vegetarian and "
                    "have a nut allergy. I'll keep this in mind for any food-related "
                    "recommendations.",
                },
            ],
            user_id="alex",
            metadata={"food": "vegan"},
        ),
    )
    show(
        "add: the user's answer to the assistant's question",
        client.add(
            [
                {"role": "user", "content": "My favorite cuisine is Italian"},
                {"role": "assistant", "content": "Nice! What about Indian cuisine?"},
                {"role": "user", "content": "Don't like it much since I cannot eat spicy food"},
            ],
            user_id="alex",
        ),
    )
    show(
        "add: short-term memory for a session",
        client.add(
            [
                {"role": "user", "content": "I'm planning a trip to Japan next month."},
                {
                    "role": "assistant",
                    "content": "That's exciting, Alex! Would you like some "
                    "recommendations for vegetarian-friendly restaurants in Japan?",
                },
                {"role": "user", "content": "Yes, please! Especially in Tokyo."},
            ],
            user_id="alex",
            run_id="trip-planning-2024",
        ),
    )
    show(
        "add: agent memories",
        client.add(
            [
                {
                    "role": "system",
                    "content": "You are an AI tutor with a personality. Give yourself "
                    "a name for the user.",
                },
                {
                    "role": "assistant",
                    "content": "Understood. I'm an AI tutor with a personality. My name is Alice.",
                },
            ],
            agent_id="ai-tutor",
        ),
    )
    show(
        "add: dual user and agent memories",
        client.add(
            [
                {"role": "user", "content": "I'm travelling to San Francisco"},
                {"role": "assistant", "content": "That's great! I'm going to Dubai next month."},
            ],
            user_id="user1",
            agent_id="agent1",
        ),
    )
    client.add("Answers billing questions", agent_id="customer-support", infer=False)
    client.add("Likes to play chess", user_id="alex", infer=False, categories=["likes"])

    query = "What do you know about me?"
    examples: dict[str, dict[str, Any]] = {
        "search 1: user_id and agent_id filters": {
            "OR": [
                {"user_id": "alex"},
                {"agent_id": {"in": ["travel-assistant", "customer-support"]}},
            ]
        },
        "search 2: date filters (an empty range matches nothing)": {
            "AND": [{"created_at": {"gte": "2024-07-20", "lte": "2024-07-10"}}, {"user_id": "alex"}]
        },
        "search 3: metadata and categories": {
            "AND": [
                {"metadata": {"food": "vegan"}},
                {"categories": {"contains": "food_preferences"}},
            ]
        },
        "search 4: NOT filters": {"NOT": [{"categories": {"contains": "food_preferences"}}]},
        "search 5: wildcard filters": {"AND": [{"user_id": "alex"}, {"run_id": "*"}]},
    }
    for title, filters in examples.items():
        show(title, client.search(query, version="v2", filters=filters, top_k=5))

    page = client.get_all(user_id="alex", page=1, page_size=3)
    show(f"get_all: page {page.page} of alex's {page.count} memories, next={page.next}", page)
    show("get_all by categories", client.get_all(user_id="alex", categories=["likes"]))
    show("get_all with keywords", client.get_all(user_id="alex", keywords="to play"))
    show(
        "get_all with v2 filters",
        client.get_all(
            version="v2",
            filters={
                "AND": [{"user_id": "alex"}, {"categories": {"contains": "food_preferences"}}]
            },
        ),
    )

    messages = [
        {
            "role": "user",
            "content": "I recently tried chicken and I loved it. "
            "I'm thinking of trying more non-vegetarian dishes..",
        }
    ]
    show("history: first add", client.add(messages, user_id="sam"))
    messages.append({"role": "user", "content": "I turned vegetarian now."})
    changed = client.add(messages, user_id="sam")
    show("history: second add", changed)
    updated = next(e for e in changed.results if e.event == "UPDATE")
    show(f"history of {updated.id}", client.history(updated.id))

    show(
        "update text and metadata",
        [
            client.update(
                memory_id=updated.id, text="I am now a vegetarian.", metadata={"diet": "vegetarian"}
            )
        ],
    )
    show("history after update", client.history(updated.id))

    ids = [
        client.add(t, user_id="bob", infer=False).results[0].id
        for t in ("Watches tennis", "Hates travel")
    ]
    print(
        "\n== batch_update:",
        client.batch_update(
            [
                {"memory_id": ids[0], "text": "Watches football"},
                {"memory_id": ids[1], "text": "Loves to travel"},
            ]
        ).model_dump(),
    )
    show("bob after batch_update", client.get_all(user_id="bob"))
    print("== batch_delete:", client.batch_delete([{"memory_id": i} for i in ids]).model_dump())

    show("users", client.users())
    show(
        "natural language delete",
        client.add(
            [{"role": "user", "content": "Delete all of my food preferences"}], user_id="alex"
        ),
    )
    show("alex afterwards", client.get_all(user_id="alex"))

    try:
        client.search(query, filters={"AND": [{"user_id": "alex"}, {"colour": "red"}]})
    except InvalidFilterError as exc:
        print(f"\n== a bad filter is refused: {exc}")

    print("\n== monitor: the activity log")
    for entry in reversed(client.activity(limit=8)):
        outcome = entry["error"] or entry["counts"]
        print(f"  {entry['kind']:<13} {entry['latency_ms']:7.1f} ms  {outcome}")
    if keep:
        return
    print("\n== delete, delete_all, delete_users, reset")
    print(" ", client.delete(client.get_all(user_id="user1").results[0].id).model_dump())
    print(" ", client.delete_all(user_id="alex").model_dump())
    print(" ", client.delete_users(agent_id="ai-tutor").model_dump())
    print("  entities left:", [(e.type, e.id) for e in client.users().results])
    print(" ", client.reset().model_dump())


async def async_example(client: AsyncMemory | AsyncMemoryClient) -> None:
    response = await client.add(
        [{"role": "user", "content": "I'm travelling to SF"}], user_id="john"
    )
    show("AsyncMemory.add", response)
    show("AsyncMemory.search", await client.search("Where is john going?", user_id="john"))


def run(host: str | None, api_key: str | None, keep: bool) -> None:
    if host is not None:
        print(f"memkit server: {host}")
        with MemoryClient(api_key=api_key, host=host) as remote:
            main(remote, keep=keep)
        asyncio.run(_async_remote(host, api_key))
        return
    with tempfile.TemporaryDirectory(prefix="memkit-demo-") as directory:
        print(f"memkit store: {directory}/sync")
        with Memory(path=directory + "/sync") as local:
            main(local, keep=keep)
        asyncio.run(_async_local(directory + "/async"))


async def _async_local(path: str) -> None:
    client = AsyncMemory(path=path)
    await async_example(client)
    await client.close()


async def _async_remote(host: str, api_key: str | None) -> None:
    client = AsyncMemoryClient(api_key=api_key, host=host)
    await async_example(client)
    await client.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", help="a memkit server's URL (default: an embedded store)")
    parser.add_argument("--api-key", help="the server's key (default: $MEMKIT_API_KEY)")
    parser.add_argument("--keep", action="store_true", help="leave what the demo wrote")
    arguments = parser.parse_args()
    run(arguments.host, arguments.api_key, arguments.keep)
