"""Every route of the OpenAPI document refuses a missing, wrong or revoked key (401), and
another project's key reaches nothing of this project, whatever ids or filters it sends.

The walk reads the routes from the server's own OpenAPI document, so a route added later
is walked too; each needs a request in ``REQUESTS`` (the test fails until it has one),
written to aim at project A's data by every means the route offers.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from memkit.server._routes_memkit import Operation

SECRET = "Alice's locker code is 4417"
OTHER_SECRET = "Alice's passport number is X99"


# (method, path template) -> a request aimed at project A: path values, query, JSON body.
# "{memory}" and "{webhook}" stand for A's memory id and A's webhook id.
_FILTERS = {"OR": [{"user_id": "alice"}, {"user_id": "*"}, {"agent_id": "*"}]}
REQUESTS: dict[tuple[str, str], dict[str, Any]] = {
    ("GET", "/v1/ping/"): {},
    ("GET", "/v1/health/"): {},
    ("POST", "/v1/memories/"): {
        "json": {"messages": [{"role": "user", "content": "I like tea"}], "user_id": "alice"}
    },
    ("POST", "/v3/memories/add/"): {
        "json": {"messages": [{"role": "user", "content": "I like tea"}], "user_id": "alice"}
    },
    ("GET", "/v1/memories/"): {"params": {"user_id": "alice"}},
    ("DELETE", "/v1/memories/"): {"params": {"user_id": "alice"}},
    ("POST", "/v1/memories/search/"): {"json": {"query": "locker code", "user_id": "alice"}},
    ("POST", "/v2/memories/search/"): {"json": {"query": "locker code", "filters": _FILTERS}},
    ("POST", "/v3/memories/search/"): {"json": {"query": "locker code", "filters": _FILTERS}},
    ("POST", "/v2/memories/"): {"json": {"filters": _FILTERS}},
    ("POST", "/v3/memories/"): {"json": {"filters": _FILTERS}},
    ("GET", "/v1/memories/{memory_id}/"): {"path": {"memory_id": "{memory}"}},
    ("PUT", "/v1/memories/{memory_id}/"): {
        "path": {"memory_id": "{memory}"},
        "json": {"text": "overwritten"},
    },
    ("DELETE", "/v1/memories/{memory_id}/"): {"path": {"memory_id": "{memory}"}},
    ("GET", "/v1/memories/{memory_id}/history/"): {"path": {"memory_id": "{memory}"}},
    ("GET", "/v1/entities/"): {},
    ("DELETE", "/v1/entities/{entity_type}/{entity_id}/"): {
        "path": {"entity_type": "user", "entity_id": "alice"}
    },
    ("DELETE", "/v2/entities/{entity_type}/{entity_id}/"): {
        "path": {"entity_type": "user", "entity_id": "alice"}
    },
    ("PUT", "/v1/batch/"): {"json": {"memories": [{"memory_id": "{memory}", "text": "gone"}]}},
    ("DELETE", "/v1/batch/"): {"json": {"memories": [{"memory_id": "{memory}"}]}},
    ("POST", "/v1/reset/"): {},
    ("POST", "/v1/exports/"): {
        "json": {"schema": {"type": "object"}, "filters": {"user_id": "alice"}}
    },
    ("POST", "/v1/exports/get/"): {"json": {"filters": {"user_id": "alice"}}},
    ("GET", "/api/v1/webhooks/projects/{project_id}/"): {"path": {"project_id": "proj_a"}},
    ("POST", "/api/v1/webhooks/projects/{project_id}/"): {
        "path": {"project_id": "proj_a"},
        "json": {"url": "http://127.0.0.1:9/hook", "name": "evil", "event_types": ["memory_add"]},
    },
    ("PUT", "/api/v1/webhooks/{webhook_id}/"): {
        "path": {"webhook_id": "{webhook}"},
        "json": {"url": "http://127.0.0.1:9/stolen"},
    },
    ("DELETE", "/api/v1/webhooks/{webhook_id}/"): {"path": {"webhook_id": "{webhook}"}},
    ("GET", "/api/v1/webhooks/{webhook_id}/deliveries/"): {"path": {"webhook_id": "{webhook}"}},
    ("GET", "/dashboard"): {},
    ("POST", "/dashboard/login"): {},
    ("POST", "/dashboard/logout"): {},
    ("GET", "/dashboard/api/activity"): {},
    ("GET", "/dashboard/api/series"): {},
    ("GET", "/dashboard/api/entities"): {},
    ("GET", "/dashboard/api/memories"): {"params": {"user_id": "alice", "q": "locker"}},
    ("GET", "/dashboard/api/memories/{memory_id}/history"): {"path": {"memory_id": "{memory}"}},
}

# memkit's own client calls one route per Memory method: each is walked with arguments
# aimed at A (an id of A's, A's user, filters naming A).
OPERATION_ARGUMENTS: dict[str, dict[str, Any]] = {
    "add": {"messages": "I like tea", "user_id": "alice"},
    "search": {"query": "locker code", "filters": _FILTERS},
    "get_all": {"filters": _FILTERS},
    "get": {"memory_id": "{memory}"},
    "update": {"memory_id": "{memory}", "text": "overwritten"},
    "batch_update": {"memories": [{"memory_id": "{memory}", "text": "gone"}]},
    "batch_delete": {"memories": [{"memory_id": "{memory}"}]},
    "history": {"memory_id": "{memory}"},
    "users": {},
    "delete": {"memory_id": "{memory}"},
    "delete_all": {"user_id": "alice"},
    "delete_users": {"user_id": "alice"},
    "reset": {},
    "append_messages": {"session_id": "s1", "messages": "hello"},
    "get_messages": {"session_id": "alice-session"},
    "clear_messages": {"session_id": "alice-session"},
    "activity": {},
    "check": {},
    "pending": {},
    "replay": {"pending_id": "not-a-pending-id"},
    "usage": {},
    "export": {},
    "import_": {"source": "{import}"},
    "create_memory_export": {"schema": {"type": "object"}, "filters": {"user_id": "alice"}},
    "get_memory_export": {"filters": {"user_id": "alice"}},
}


def _fill(value: Any, ctx: dict[str, str]) -> Any:
    if isinstance(value, str):
        for name, real in ctx.items():
            value = value.replace("{" + name + "}", real)
        return value
    if isinstance(value, dict):
        return {k: _fill(v, ctx) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, ctx) for v in value]
    return value


# Path values that name project A's own things: a foreign key must get 403 or 404 there.
AIMED_AT_A = ("{memory}", "{webhook}", "proj_a")


def _requests(
    spec: dict[str, Any], ctx: dict[str, str]
) -> list[tuple[str, str, dict[str, Any], bool]]:
    """Every (method, url, httpx kwargs, names A's things in the path) of the document."""
    out = []
    for path, operations in spec["paths"].items():
        for method in operations:
            method = method.upper()
            if path == "/v1/memkit/{operation}/":
                for operation in Operation:
                    args = _fill(OPERATION_ARGUMENTS[operation.value], ctx)
                    aimed = "{memory}" in str(OPERATION_ARGUMENTS[operation.value])
                    out.append((method, f"/v1/memkit/{operation.value}/", {"json": args}, aimed))
                continue
            assert (method, path) in REQUESTS, f"no walk request for {method} {path}"
            raw = REQUESTS[(method, path)]
            aimed = any(marker in str(raw.get("path", {})) for marker in AIMED_AT_A)
            request = _fill(raw, ctx)
            url = path.format(**request.get("path", {}))
            kwargs = {k: v for k, v in request.items() if k in ("params", "json")}
            out.append((method, url, kwargs, aimed))
    return out


@pytest.fixture
def two_projects(live_server) -> dict[str, Any]:
    memory = live_server.memory("proj_a")
    added = memory.add(SECRET, user_id="alice", infer=False)
    memory.add(OTHER_SECRET, user_id="alice", infer=False, metadata={"kind": "id"})
    memory.append_messages("alice-session", [{"role": "user", "content": SECRET}])
    key_a = live_server.new_key("proj_a")
    hook = httpx.post(
        f"{live_server.url}/api/v1/webhooks/projects/proj_a/",
        json={"url": "http://127.0.0.1:9/a", "name": "a", "event_types": ["memory_add"]},
        headers={"Authorization": f"Token {key_a}"},
    )
    assert hook.status_code in (200, 201), hook.text
    revoked, revoked_secret = live_server.keys.create_key("proj_a", "old")
    live_server.keys.revoke_key(revoked.id)
    return {
        "memory_id": added.results[0].id,
        "webhook_id": hook.json()["webhook_id"],
        "key_a": key_a,
        "key_b": live_server.new_key("proj_b"),
        "revoked": revoked_secret,
        "spec": httpx.get(
            f"{live_server.url}/openapi.json", headers={"Authorization": f"Token {key_a}"}
        ).json(),
    }


def _a_state(live_server) -> tuple[Any, ...]:
    memory = live_server.memory("proj_a")
    page = memory.get_all(user_id="alice", page_size=100)
    hooks = live_server.app.state.events.store.for_project("proj_a")
    return (
        sorted((m.id, m.memory, tuple(sorted(m.metadata.items()))) for m in page.results),
        [(h.webhook_id, h.url, h.is_active) for h in hooks],
        [m.content for m in memory.get_messages("alice-session")],
    )


def test_the_walk_covers_the_document(two_projects) -> None:
    paths = two_projects["spec"]["paths"]
    walked = {(m.upper(), p) for p, ops in paths.items() for m in ops}
    walked.discard(("POST", "/v1/memkit/{operation}/"))
    assert walked == set(REQUESTS), "a route was added or removed: update REQUESTS"
    assert set(OPERATION_ARGUMENTS) == {op.value for op in Operation}


@pytest.mark.parametrize(
    "header",
    [None, "Token mk_not_a_key", "Bearer", "Basic dXNlcjpwYXNz", "{revoked}"],
    ids=["missing", "wrong", "malformed", "other-scheme", "revoked"],
)
def test_every_route_refuses_a_missing_wrong_or_revoked_key(
    live_server, two_projects, header
) -> None:
    ctx = {
        "memory": two_projects["memory_id"],
        "webhook": two_projects["webhook_id"],
        "import": "{}",
    }
    before = _a_state(live_server)
    headers = {}
    if header is not None:
        headers["Authorization"] = header.replace("{revoked}", f"Token {two_projects['revoked']}")
    with httpx.Client(base_url=live_server.url, headers=headers) as http:
        for method, url, kwargs, _ in _requests(two_projects["spec"], ctx):
            reply = http.request(method, url, **kwargs)
            assert reply.status_code == 401, (method, url, reply.status_code, reply.text[:200])
            assert SECRET not in reply.text and "4417" not in reply.text
        assert http.get("/openapi.json").status_code == 401
    assert _a_state(live_server) == before


def test_another_projects_key_reaches_nothing_of_this_project(live_server, two_projects) -> None:
    ctx = {
        "memory": two_projects["memory_id"],
        "webhook": two_projects["webhook_id"],
        "import": "{}",
    }
    before = _a_state(live_server)
    headers = {"Authorization": f"Token {two_projects['key_b']}"}
    with httpx.Client(base_url=live_server.url, headers=headers) as http:
        for method, url, kwargs, aimed in _requests(two_projects["spec"], ctx):
            reply = http.request(method, url, **kwargs)
            where = (method, url, reply.status_code, reply.text[:300])
            assert reply.status_code < 500, where
            assert "4417" not in reply.text and "X99" not in reply.text, where
            if aimed:
                assert reply.status_code in (403, 404), where
            # The same id or project asked for as the request's scope is refused outright.
            scoped = http.request(
                method,
                url,
                params={**kwargs.get("params", {}), "project_id": "proj_a"},
                **{k: v for k, v in kwargs.items() if k != "params"},
            )
            assert scoped.status_code in (401, 403), (method, url, scoped.status_code)
            if isinstance(kwargs.get("json"), dict):
                # ... and so is a body naming A's project, as the platform's client sends it.
                body = {**kwargs["json"], "project_id": "proj_a"}
                named = http.request(method, url, params=kwargs.get("params"), json=body)
                assert named.status_code in (400, 401, 403), (method, url, named.status_code)
    assert _a_state(live_server) == before
    # B's own writes landed in B: A still has exactly its two memories.
    assert live_server.memory("proj_a").get(two_projects["memory_id"]).memory == SECRET


def test_a_bad_body_without_a_key_hears_401_first(live_server) -> None:
    reply = httpx.post(
        f"{live_server.url}/v1/memories/",
        content=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert reply.status_code == 401
    assert "API key" in reply.json()["detail"]
