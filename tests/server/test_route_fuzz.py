"""Whatever a request carries, the server answers it (never a 5xx) and the project's store
still reads back and reopens: the library's promise, kept over HTTP.

Bodies are drawn from the keys the routes know (so they reach past the schema checks into
memkit's own), with values of any JSON shape, and a few raw non-JSON bodies.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from memkit.server._routes_memkit import Operation

KEYS = (
    "messages",
    "user_id",
    "agent_id",
    "run_id",
    "app_id",
    "metadata",
    "filters",
    "query",
    "text",
    "memory_id",
    "memories",
    "page",
    "page_size",
    "top_k",
    "categories",
    "expiration_date",
    "immutable",
    "infer",
    "fields",
    "output_format",
    "threshold",
    "session_id",
    "$memkit",
    "value",
)

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=30)
    | st.sampled_from(["alice", "*", "2024-07-01", "user", "gte", "AND", "$memkit", "keep"])
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
bodies = st.dictionaries(st.sampled_from(KEYS), values, max_size=6)
# Bodies close to valid, so most requests get past the checks and write or read.
ids = st.sampled_from(["alice", "bob", "a b", "ünï", "x" * 200]) | st.text(min_size=1, max_size=12)
texts = st.text(min_size=0, max_size=60) | st.sampled_from(["I'm a vegetarian", "I moved to Oslo"])
messages = texts | st.lists(
    st.fixed_dictionaries(
        {"role": st.sampled_from(["user", "assistant", "system"]), "content": texts}
    ),
    min_size=1,
    max_size=3,
)
metadata = st.dictionaries(st.text(max_size=10), scalars, max_size=3)
leaf_filters = st.one_of(
    st.fixed_dictionaries({"user_id": ids}),
    st.fixed_dictionaries(
        {
            "created_at": st.fixed_dictionaries(
                {"gte": st.sampled_from(["2024-07-01", "1970-01-01"])}
            )
        }
    ),
    st.fixed_dictionaries(
        {"categories": st.fixed_dictionaries({"contains": st.text(max_size=10)})}
    ),
    st.fixed_dictionaries({"metadata": metadata}),
)
filters = st.recursive(
    leaf_filters,
    lambda inner: (
        st.fixed_dictionaries({"AND": st.lists(inner, min_size=1, max_size=3)})
        | st.fixed_dictionaries({"OR": st.lists(inner, min_size=1, max_size=3)})
    ),
    max_leaves=5,
)
plausible = st.fixed_dictionaries(
    {"user_id": ids},
    optional={
        "messages": messages,
        "query": texts,
        "text": texts,
        "metadata": metadata,
        "filters": filters,
        "infer": st.booleans(),
        "top_k": st.integers(min_value=-1, max_value=50),
        "page": st.integers(min_value=0, max_value=5),
        "page_size": st.integers(min_value=0, max_value=200),
        "categories": st.lists(st.text(max_size=12), max_size=3),
        "immutable": st.booleans(),
        "expiration_date": st.sampled_from(["2099-01-01", "2000-01-01", "soon"]),
        "memories": st.lists(st.fixed_dictionaries({"memory_id": ids, "text": texts}), max_size=2),
    },
)

STATUSES: dict[int, int] = {}

ROUTES = [
    ("POST", "/v1/memories/"),
    ("POST", "/v3/memories/add/"),
    ("POST", "/v2/memories/search/"),
    ("POST", "/v1/memories/search/"),
    ("POST", "/v2/memories/"),
    ("PUT", "/v1/memories/{memory}/"),
    ("PUT", "/v1/batch/"),
    ("DELETE", "/v1/batch/"),
    ("POST", "/v1/exports/"),
    ("POST", "/api/v1/webhooks/projects/proj_f/"),
] + [("POST", f"/v1/memkit/{op.value}/") for op in Operation if op.value not in ("reset",)]


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory) -> Any:
    from memkit.server import ServerSettings
    from memkit.testing.live_server import LiveServer

    home = tmp_path_factory.mktemp("fuzz-server")
    with LiveServer(ServerSettings(home=home)) as live:
        key = live.new_key("proj_f")
        memory = live.memory("proj_f")
        kept = memory.add("Keeps a locker at the gym", user_id="alice", infer=False)
        with httpx.Client(
            base_url=live.url, headers={"Authorization": f"Token {key}"}, timeout=60
        ) as http:
            yield live, http, kept.results[0].id


@settings(
    max_examples=600,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    route=st.sampled_from(ROUTES),
    body=plausible | bodies | values,
    raw=st.sampled_from([None] * 9 + ["{", "\x00", "[]"]),
)
def test_no_request_gets_a_5xx(fuzzed, route, body, raw) -> None:
    _, http, kept = fuzzed
    method, path = route
    content = raw if raw is not None else json.dumps(body)
    reply = http.request(
        method,
        path.replace("{memory}", kept),
        content=content.encode("utf-8", "surrogatepass"),
        headers={"Content-Type": "application/json"},
    )
    assert reply.status_code < 500, (method, path, content[:300], reply.text[:300])
    assert "Traceback" not in reply.text
    STATUSES[reply.status_code // 100] = STATUSES.get(reply.status_code // 100, 0) + 1


MAIN_ROUTES = [
    ("POST", "/v1/memories/", ("messages", "metadata", "infer", "immutable", "expiration_date")),
    ("POST", "/v2/memories/search/", ("query", "filters", "top_k")),
    ("POST", "/v2/memories/", ("filters", "page", "page_size")),
    ("PUT", "/v1/memories/{memory}/", ("text", "metadata")),
    ("PUT", "/v1/batch/", ("memories",)),
]


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(route=st.sampled_from(MAIN_ROUTES), body=plausible)
def test_plausible_requests_write_and_read_without_a_5xx(fuzzed, route, body) -> None:
    _, http, kept = fuzzed
    method, path, allowed = route
    if path.startswith("/v2"):
        body = {"filters": {"user_id": body["user_id"]}, **body}
        body.pop("user_id")
    keep = {k: v for k, v in body.items() if k in allowed or k == "user_id"}
    if path.startswith("/v1/memories/") and method == "POST":
        keep.setdefault("messages", "I'm a vegetarian")
    if method == "PUT":
        keep.pop("user_id", None)
        if "memories" in keep:
            keep["memories"] = [{**m, "memory_id": kept} for m in keep["memories"]]
    reply = http.request(method, path.replace("{memory}", kept), json=keep)
    assert reply.status_code < 500, (method, path, keep, reply.text[:300])
    STATUSES[reply.status_code // 100] = STATUSES.get(reply.status_code // 100, 0) + 1


def test_the_fuzzed_store_reads_back_and_reopens(fuzzed) -> None:
    live, http, _ = fuzzed
    before = http.post("/v2/memories/", json={"filters": {"user_id": "*"}, "page_size": 100})
    assert before.status_code == 200, before.text
    live.app.state.projects.close_project("proj_f")
    after = http.post("/v2/memories/", json={"filters": {"user_id": "*"}, "page_size": 100})
    assert after.status_code == 200
    assert after.json()["results"] == before.json()["results"]
    health = http.get("/v1/health/").json()
    assert health["store"]["healthy"], health
    for row in after.json()["results"]:
        assert http.get(f"/v1/memories/{row['id']}/").status_code == 200
    if STATUSES:  # the fuzz ran first (file order): it must have written, not only been refused
        assert STATUSES.get(2, 0) >= 20, STATUSES


@pytest.mark.parametrize("text", ["[" * 3000, "{'a': " * 300, "(" * 5000, "1e999999", "{'x': 1"])
def test_a_filters_query_parameter_of_any_depth_is_a_4xx(fuzzed, text) -> None:
    _, http, _ = fuzzed
    reply = http.delete("/v1/memories/", params={"user_id": "nobody", "filters": text})
    assert 400 <= reply.status_code < 500, reply.text[:300]
