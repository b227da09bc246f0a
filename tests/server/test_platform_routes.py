"""The platform's REST routes over httpx: shapes, 4xx bodies, tenancy and events.

One server for the module; each test works in projects of its own, so tests do not see
each other's memories (which is tenancy at work too).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from memkit.server import ServerSettings
from memkit.testing.live_server import LiveServer, RecordingSink

RECORD_KEYS = {
    "id", "memory", "hash", "user_id", "agent_id", "app_id", "run_id", "metadata",
    "categories", "created_at", "updated_at", "immutable", "expiration_date",
}  # fmt: skip
PAGE_KEYS = {"count", "page", "page_size", "next", "previous", "results"}


@pytest.fixture(scope="module")
def live(tmp_path_factory) -> Iterator[LiveServer]:
    with LiveServer(ServerSettings(home=tmp_path_factory.mktemp("routes"))) as server:
        server.app.state.events = RecordingSink()
        yield server


@pytest.fixture
def recorder(live: LiveServer) -> RecordingSink:
    recorder: RecordingSink = live.app.state.events
    return recorder


def client_for(live: LiveServer, project_id: str) -> httpx.Client:
    key = live.new_key(project_id)
    return httpx.Client(base_url=live.url, headers={"Authorization": f"Token {key}"}, timeout=30)


def add(client: httpx.Client, text: str, **options: Any) -> dict[str, Any]:
    body = {"messages": text, "infer": False, **options}
    response = client.post("/v1/memories/", json=body)
    assert response.status_code == 200, response.text
    event: dict[str, Any] = response.json()["results"][0]
    return event


def bad(response: httpx.Response, status: int = 400) -> str:
    """The 4xx body: a one-line ``detail`` and memkit's error type."""
    assert response.status_code == status, response.text
    body = response.json()
    assert isinstance(body["detail"], str) and "\n" not in body["detail"]
    return f"{body.get('error')}: {body['detail']}"


# ---- shapes ------------------------------------------------------------------------------


def test_add_get_list_search_shapes(live: LiveServer) -> None:
    api = client_for(live, "shapes")
    reply = api.post(
        "/v1/memories/",
        json={
            "messages": [{"role": "user", "content": "I'm a vegetarian and I live in Paris"}],
            "user_id": "alex",
            "metadata": {"source": "chat"},
            "async_mode": True,  # what the platform's clients send: the add still runs now
            "output_format": "v1.1",
        },
    )
    assert reply.status_code == 200, reply.text
    events = reply.json()["results"]
    assert {e["event"] for e in events} == {"ADD"} and len(events) == 2
    assert set(events[0]) == {
        "id", "memory", "event", "previous_memory", "user_id", "agent_id", "app_id", "run_id"
    }  # fmt: skip

    one = api.get(f"/v1/memories/{events[0]['id']}/").json()
    assert set(one) == RECORD_KEYS and one["metadata"] == {"source": "chat"}
    assert one["created_at"].endswith("+00:00")

    page = api.post(
        "/v2/memories/", json={"filters": {"user_id": "alex"}}, params={"page": 1, "page_size": 1}
    )
    assert page.status_code == 200, page.text
    listed = page.json()
    assert set(listed) == PAGE_KEYS
    assert (listed["count"], listed["page"], listed["page_size"], listed["next"]) == (2, 1, 1, 2)
    assert set(listed["results"][0]) == RECORD_KEYS
    in_body = api.post("/v2/memories/", json={"user_id": "alex", "page": 2, "page_size": 1})
    assert in_body.json()["previous"] == 1 and in_body.json()["next"] is None
    v1 = api.get("/v1/memories/", params={"user_id": "alex", "page_size": 10}).json()
    old_shape = api.get("/v1/memories/", params={"user_id": "alex", "output_format": "v1.0"})
    assert isinstance(old_shape.json(), list) and len(old_shape.json()) == 2
    v3 = api.post("/v3/memories/", json={"filters": {"user_id": "alex"}}).json()
    assert (
        {m["id"] for m in v1["results"]}
        == {m["id"] for m in v3["results"]}
        == {e["id"] for e in events}
    )

    for path in ("/v2/memories/search/", "/v1/memories/search/", "/v3/memories/search/"):
        hits = api.post(path, json={"query": "What does alex eat?", "user_id": "alex", "top_k": 1})
        assert hits.status_code == 200, hits.text
        (hit,) = hits.json()["results"]
        assert set(hit) == RECORD_KEYS | {"score"} and "vegetarian" in hit["memory"].lower()
    narrowed = api.post(
        "/v2/memories/search/",
        json={"query": "Paris", "filters": {"user_id": "alex"}, "fields": ["memory"]},
    ).json()
    assert narrowed["results"] and all(set(h) == {"memory"} for h in narrowed["results"])
    bare = api.post(
        "/v1/memories/", json={"messages": "Likes jazz", "user_id": "bob", "infer": False,
                               "output_format": "v1.0"}
    ).json()  # fmt: skip
    assert isinstance(bare, list) and bare[0]["memory"] == "Likes jazz"
    v3_add = api.post("/v3/memories/add/", json={"messages": "Owns a cat", "user_id": "bob",
                                                 "infer": False})  # fmt: skip
    assert v3_add.json()["results"][0]["event"] == "ADD"


def test_update_history_delete_and_entities(live: LiveServer, recorder: RecordingSink) -> None:
    api = client_for(live, "lifecycle")
    first = add(api, "Is thinking about going vegetarian", user_id="alex")
    memory_id = first["id"]
    updated = api.put(
        f"/v1/memories/{memory_id}/",
        json={"text": "I am now a vegetarian.", "metadata": {"diet": "vegetarian"}},
    )
    assert updated.status_code == 200, updated.text
    assert set(updated.json()) == RECORD_KEYS
    assert updated.json()["memory"] == "I am now a vegetarian."
    meta_only = api.put(f"/v1/memories/{memory_id}/", json={"metadata": {"diet": "vegan"}})
    assert meta_only.json()["memory"] == "I am now a vegetarian."

    history = api.get(f"/v1/memories/{memory_id}/history/").json()
    assert [h["event"] for h in history] == ["ADD", "UPDATE", "UPDATE"]
    assert set(history[1]) == {
        "id", "memory_id", "event", "old_memory", "new_memory", "metadata", "categories",
        "created_at",
    }  # fmt: skip
    assert history[1]["new_memory"] == "I am now a vegetarian."

    add(api, "Booked a hotel in Kyoto", user_id="alex", run_id="trip")
    add(api, "Recommends museums", agent_id="guide")
    users = api.get("/v1/entities/").json()
    assert users["count"] == 3
    named = {(e["type"], e["name"]): e for e in users["results"]}
    assert named[("user", "alex")]["total_memories"] == 2
    assert set(named[("run", "trip")]) == {
        "id", "name", "type", "total_memories", "created_at", "updated_at"
    }  # fmt: skip

    deleted = api.delete(f"/v1/memories/{memory_id}/")
    assert deleted.json() == {"message": "Memory deleted successfully!", "count": 1}
    assert api.get(f"/v1/memories/{memory_id}/").status_code == 404
    assert [h["event"] for h in api.get(f"/v1/memories/{memory_id}/history/").json()][-1] == (
        "DELETE"
    )

    gone = api.delete("/v2/entities/agent/guide/")
    assert gone.json() == {"message": "Entity deleted successfully!", "count": 1}
    by_run = api.delete("/v1/memories/", params={"run_id": "trip"})
    assert by_run.json() == {"message": "Memories deleted successfully!", "count": 1}
    assert api.get("/v1/entities/").json() == {"count": 0, "results": []}

    kinds = [event for event, _ in recorder.of("lifecycle")]
    assert kinds == ["memory_add", "memory_update", "memory_update", "memory_add", "memory_add",
                     "memory_delete", "memory_delete", "memory_delete"]  # fmt: skip
    data = [d for _, d in recorder.of("lifecycle")]
    assert data[0]["id"] == memory_id and data[0]["event"] == "ADD"
    assert data[1]["memory"] == "I am now a vegetarian."
    assert data[5] == {"id": memory_id}
    assert data[6] == {"ids": None, "filter": {"agent_id": "guide"}, "count": 1}
    assert data[7] == {"ids": None, "filter": {"run_id": "trip"}, "count": 1}


def test_batches_delete_all_and_reset(live: LiveServer, recorder: RecordingSink) -> None:
    api = client_for(live, "batches")
    ids = [
        add(api, text, user_id="u")["id"]
        for text in ("Watches tennis", "Hates travel", "Owns a cat")
    ]
    updated = api.put(
        "/v1/batch/",
        json={"memories": [{"memory_id": ids[0], "text": "Watches football"},
                           {"memory_id": ids[1], "text": "Loves to travel"}]},
    )  # fmt: skip
    assert updated.json() == {"message": "Successfully updated 2 memories", "count": 2}
    assert api.get(f"/v1/memories/{ids[0]}/").json()["memory"] == "Watches football"
    deleted = api.request("DELETE", "/v1/batch/", json={"memories": [{"memory_id": ids[0]}]})
    assert deleted.json() == {"message": "Successfully deleted 1 memories", "count": 1}

    # all or nothing: an unknown id fails the whole batch
    assert "MemoryNotFoundError" in bad(
        api.request("DELETE", "/v1/batch/",
                    json={"memories": [{"memory_id": ids[1]}, {"memory_id": "no-such"}]}),
        404,
    )  # fmt: skip
    assert api.get(f"/v1/memories/{ids[1]}/").status_code == 200
    assert "BatchLimitError" in bad(
        api.put("/v1/batch/", json={"memories": [{"memory_id": ids[1], "text": "x"}] * 1001}),
        413,
    )

    add(api, "Plays chess", user_id="v", run_id="r1")
    add(api, "Plays go", user_id="v", run_id="r2")
    narrowed = api.delete(
        "/v1/memories/",
        params={"filters": json.dumps({"AND": [{"user_id": "v"}, {"run_id": "r1"}]})},
    )
    assert narrowed.json()["count"] == 1
    assert [
        m["memory"] for m in api.get("/v1/memories/", params={"user_id": "v"}).json()["results"]
    ] == ["Plays go"]

    reset = api.post("/v1/reset/")
    assert reset.json() == {"message": "Memory store reset successfully!", "count": 0}
    assert api.post("/v2/memories/", json={}).json()["count"] == 0

    events = recorder.of("batches")
    updates = [d for e, d in events if e == "memory_update"]
    assert updates == [{"id": ids[0], "memory": "Watches football"},
                       {"id": ids[1], "memory": "Loves to travel"}]  # fmt: skip
    deletes = [d for e, d in events if e == "memory_delete"]
    assert deletes[0] == {"id": ids[0]}
    assert deletes[-1] == {"ids": None, "filter": {}, "count": 3}  # reset: what was left


def test_immutable_memories_are_a_conflict(live: LiveServer) -> None:
    api = client_for(live, "immutable")
    fixed = add(api, "Was born in Lyon", user_id="alex", immutable=True)
    assert "ImmutableMemoryError" in bad(
        api.put(f"/v1/memories/{fixed['id']}/", json={"text": "Was born in Nice"}), 409
    )


def test_update_sets_and_clears_the_expiration_date(live: LiveServer) -> None:
    api = client_for(live, "expiry")
    memory_id = add(api, "Is in Rome this week", user_id="alex")["id"]
    past = api.put(f"/v1/memories/{memory_id}/", json={"expiration_date": "2000-01-01"})
    assert past.json()["expiration_date"] == "2000-01-01"
    assert api.post("/v2/memories/", json={"user_id": "alex"}).json()["count"] == 0  # expired
    cleared = api.put(f"/v1/memories/{memory_id}/", json={"expiration_date": None})
    assert cleared.json()["expiration_date"] is None
    assert api.post("/v2/memories/", json={"user_id": "alex"}).json()["count"] == 1


# ---- 4xx ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body", "params", "expected"),
    [
        ("post", "/v2/memories/search/", {"query": "q", "top_k": "5"}, None, "body.top_k"),
        ("post", "/v2/memories/search/", {"top_k": 5}, None, "body.query: Field required"),
        ("post", "/v2/memories/search/", {"query": "q", "colour": "red"}, None, "colour"),
        ("post", "/v2/memories/search/", {"query": "q", "filters": {"colour": "red"}}, None,
         "InvalidFilterError"),
        ("post", "/v2/memories/search/", {"query": "q", "filters": {"user_id": {"near": 1}}},
         None, "near"),
        ("post", "/v2/memories/", {"filters": "user_id=alex"}, None, "body.filters"),
        ("post", "/v2/memories/", {}, {"page": 0}, "page"),
        ("post", "/v1/memories/", {"user_id": "alex"}, None, "body.messages: Field required"),
        ("post", "/v1/memories/", {"messages": "hi"}, None, "InvalidInputError"),
        ("post", "/v1/memories/", {"messages": "hi", "user_id": "a", "metadata": "x"}, None,
         "body.metadata"),
        ("put", "/v1/memories/some-id/", {"text": "x", "timestamp": 1}, None, "body.timestamp"),
        ("put", "/v1/batch/", {"items": []}, None, "body.memories: Field required"),
        ("delete", "/v1/memories/", None, None, "InvalidInputError"),
        ("delete", "/v1/memories/", None, {"filters": "{not json"}, "filters must be a JSON"),
        ("delete", "/v1/memories/", None, {"user": "alex"}, "unexpected query parameters"),
        ("get", "/v1/memories/", None, {"user": "alex"}, "unexpected query parameters"),
        ("delete", "/v2/entities/team/x/", None, None, "entity_type"),
        ("post", "/v1/exports/", {"schema": {"type": "object"}, "user_id": "a"}, None,
         "ConfigError: create_memory_export needs an LLM"),
    ],
)  # fmt: skip
def test_bad_requests_get_a_clear_400(live, method, path, body, params, expected) -> None:
    api = client_for(live, "invalid")
    response = api.request(method.upper(), path, json=body, params=params)
    assert expected in bad(response)


def test_malformed_json_is_a_400(live: LiveServer) -> None:
    api = client_for(live, "invalid")
    response = api.post(
        "/v2/memories/search/", content=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert "invalid request" in bad(response)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "/v1/memories/{id}/", None),
        ("put", "/v1/memories/{id}/", {"text": "x"}),
        ("delete", "/v1/memories/{id}/", None),
        ("get", "/v1/memories/{id}/history/", None),
        ("put", "/v1/batch/", {"memories": [{"memory_id": "{id}", "text": "x"}]}),
    ],
)
def test_unknown_ids_are_404(live, method, path, body) -> None:
    api = client_for(live, "unknown")
    missing = "6f1e8c62-0000-4000-8000-000000000000"
    body = json.loads(json.dumps(body).replace("{id}", missing)) if body else None
    response = api.request(method.upper(), path.replace("{id}", missing), json=body)
    assert "MemoryNotFoundError" in bad(response, 404)


# ---- tenancy -------------------------------------------------------------------------------


def test_another_projects_key_sees_nothing_of_it(live: LiveServer) -> None:
    alice = client_for(live, "tenant_a")
    mallory = client_for(live, "tenant_b")
    secret = add(alice, "Keeps the safe code in a drawer", user_id="alex")
    add(alice, "Likes tea", user_id="alex", run_id="r1")
    sid = secret["id"]

    assert mallory.get(f"/v1/memories/{sid}/").status_code == 404
    assert mallory.get(f"/v1/memories/{sid}/history/").status_code == 404
    assert mallory.put(f"/v1/memories/{sid}/", json={"text": "x"}).status_code == 404
    assert mallory.delete(f"/v1/memories/{sid}/").status_code == 404
    assert (
        mallory.request("DELETE", "/v1/batch/", json={"memories": [{"memory_id": sid}]}).status_code
        == 404
    )
    for body in (
        {"user_id": "alex"},
        {"filters": {"user_id": "*"}},
        {"filters": {"OR": [{"user_id": "alex"}, {"run_id": "*"}]}},
        {},
    ):
        assert mallory.post("/v2/memories/", json=body).json()["count"] == 0
        assert mallory.post("/v2/memories/search/", json={"query": "safe code", **body}).json() == {
            "results": []
        }
    assert mallory.get("/v1/memories/", params={"user_id": "alex"}).json()["count"] == 0
    assert mallory.get("/v1/entities/").json() == {"count": 0, "results": []}
    assert mallory.delete("/v1/memories/", params={"user_id": "alex"}).json()["count"] == 0
    assert mallory.delete("/v2/entities/user/alex/").json()["count"] == 0
    mallory.post("/v1/reset/")

    # naming the other project (or another organisation) is refused outright
    for params in ({"project_id": "tenant_a"}, {"org_id": "acme"}):
        named = next(iter(params.values()))
        assert named in bad(mallory.get("/v1/entities/", params=params), 403)
        assert (
            mallory.delete("/v1/memories/", params={"user_id": "alex", **params}).status_code == 403
        )
    for body in (
        {"query": "safe", "project_id": "tenant_a", "org_id": "local"},
        {"query": "safe", "org_id": "acme"},
    ):
        assert mallory.post("/v2/memories/search/", json=body).status_code == 403
    assert (
        mallory.post(
            "/v1/memories/", json={"messages": "x", "user_id": "alex", "project_id": "tenant_a"}
        ).status_code
        == 403
    )
    assert (
        mallory.put("/v1/batch/", json={"memories": [], "project_id": "tenant_a"}).status_code
        == 403
    )
    # its own project and the one organisation are fine
    own = mallory.post("/v2/memories/", json={"project_id": "tenant_b", "org_id": "local"})
    assert own.status_code == 200

    # and tenant_a still has everything
    assert alice.get(f"/v1/memories/{sid}/").json()["memory"] == "Keeps the safe code in a drawer"
    assert alice.post("/v2/memories/", json={"user_id": "alex"}).json()["count"] == 2


def test_the_openapi_document_describes_every_platform_route(live: LiveServer) -> None:
    api = client_for(live, "docs")
    document = api.get("/openapi.json").json()
    expected = {
        ("post", "/v1/memories/"), ("get", "/v1/memories/"), ("delete", "/v1/memories/"),
        ("post", "/v2/memories/"), ("post", "/v2/memories/search/"),
        ("post", "/v1/memories/search/"), ("post", "/v3/memories/add/"),
        ("post", "/v3/memories/"), ("post", "/v3/memories/search/"),
        ("get", "/v1/memories/{memory_id}/"), ("put", "/v1/memories/{memory_id}/"),
        ("delete", "/v1/memories/{memory_id}/"), ("get", "/v1/memories/{memory_id}/history/"),
        ("get", "/v1/entities/"), ("delete", "/v2/entities/{entity_type}/{entity_id}/"),
        ("put", "/v1/batch/"), ("delete", "/v1/batch/"), ("post", "/v1/reset/"),
        ("post", "/v1/exports/"), ("post", "/v1/exports/get/"),
    }  # fmt: skip
    found = {(m, p) for p, ops in document["paths"].items() for m in ops}
    assert expected <= found
    for method, path in expected:
        operation = document["paths"][path][method]
        assert operation.get("summary") and operation.get("description"), (method, path)
    search = document["paths"]["/v2/memories/search/"]["post"]
    assert "SearchResult" in json.dumps(search["responses"]["200"])


def test_mem0ai_2x_requests(live: LiveServer) -> None:
    """What mem0ai 2.x sends: /v3/ paths, entity ids inside ``filters``, and delete_all's
    filters as the ``repr`` httpx writes for a dict query parameter."""
    api = client_for(live, "two_x")
    added = api.post(
        "/v3/memories/add/",
        json={"messages": [{"role": "user", "content": "I live in Paris"}],
              "filters": {"user_id": "alex"}, "infer": False},
    )  # fmt: skip
    assert added.status_code == 200, added.text
    assert added.json()["results"][0]["user_id"] == "alex"
    page = api.post("/v3/memories/", json={"filters": {"user_id": "alex"}}, params={"page": 1})
    assert page.json()["count"] == 1
    hits = api.post("/v3/memories/search/", json={"query": "Paris", "filters": {"user_id": "alex"}})
    assert [h["memory"] for h in hits.json()["results"]] == ["I live in Paris"]
    assert "filters may only name" in bad(
        api.post("/v3/memories/add/", json={"messages": "x", "filters": {"run_id": {"in": ["a"]}}})
    )
    assert "filters say" in bad(
        api.post("/v3/memories/add/",
                 json={"messages": "x", "user_id": "bob", "filters": {"user_id": "alex"}})
    )  # fmt: skip
    one = add(api, "Likes tea", user_id="alex")
    assert (
        api.delete(f"/v1/memories/{one['id']}/", params={"delete_linked": True}).json()["count"]
        == 1
    )
    gone = api.delete("/v1/memories/", params={"filters": {"user_id": "alex"}})
    assert gone.json() == {"message": "Memories deleted successfully!", "count": 1}
