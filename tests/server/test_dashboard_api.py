"""The dashboard without a browser: its numbers, its JSON, its key checks, its installer."""

from __future__ import annotations

import re
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from memkit.errors import InvalidFilterError
from memkit.server import ServerSettings
from memkit.server._dashboard_auth import COOKIE_NAME
from memkit.server._dashboard_data import (
    listing_filters,
    operation_rows,
    parse_filters,
    per_minute,
)
from memkit.testing.live_server import LiveServer

NOW = datetime(2026, 1, 2, 10, 30, 40, tzinfo=UTC)
REPO = Path(__file__).resolve().parents[2]


def row(id_: int, kind: str, latency: float, at: datetime, **extra: object) -> dict:
    return {
        "id": id_,
        "kind": kind,
        "scope": {"user_id": "alex"},
        "counts": extra.get("counts", {}),
        "latency_ms": latency,
        "error": extra.get("error"),
        "created_at": at,
    }


def test_operation_rows_sum_the_llm_tokens() -> None:
    rows = operation_rows(
        [
            row(2, "add", 12.34567, NOW, counts={"prompt_tokens": 30, "completion_tokens": 5}),
            row(1, "search", 1.0, NOW, counts={"results": 3}),
        ]
    )
    assert [(r.kind, r.tokens, r.latency_ms) for r in rows] == [
        ("add", 35, 12.346),
        ("search", None, 1.0),
    ]
    assert rows[0].model_dump(mode="json")["created_at"] == "2026-01-02T10:30:40+00:00"


def test_per_minute_buckets_count_and_time_every_minute_of_the_window() -> None:
    activity = [
        row(4, "add", 10.0, NOW),
        row(3, "search", 30.0, NOW - timedelta(seconds=20), error="InvalidFilterError: x"),
        row(2, "add", 5.0, NOW - timedelta(minutes=2)),
        row(1, "add", 99.0, NOW - timedelta(minutes=10)),  # before the window
    ]
    buckets = per_minute(activity, NOW, minutes=3)
    assert [b.minute.strftime("%H:%M") for b in buckets] == ["10:28", "10:29", "10:30"]
    assert [b.operations for b in buckets] == [1, 0, 2]
    last = buckets[-1]
    assert last.by_kind == {"add": 1, "search": 1} and last.errors == 1
    assert (last.avg_latency_ms, last.p95_latency_ms) == (20.0, 30.0)
    assert buckets[1].avg_latency_ms is None and buckets[1].p95_latency_ms is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not valid JSON"),
        ('["user_id"]', "must be a JSON object"),
        ("42", "must be a JSON object"),
    ],
)
def test_parse_filters_refuses_what_is_not_a_filter_object(text: str, message: str) -> None:
    with pytest.raises(InvalidFilterError, match=message):
        parse_filters(text)


def test_listing_filters_join_the_selected_entity_and_the_typed_filter() -> None:
    typed = parse_filters('{"categories": {"contains": "likes"}}')
    assert parse_filters("  ") is None and listing_filters(None, None, None) is None
    assert listing_filters("run", "trip", None) == {"run_id": "trip"}
    assert listing_filters(None, None, typed) == typed
    assert listing_filters("user", "alex", typed) == {"AND": [{"user_id": "alex"}, typed]}
    with pytest.raises(InvalidFilterError, match="unknown entity type"):
        listing_filters("team", "x", None)


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Token {key}"}


def test_api_answers_the_projects_own_data_only(live_server) -> None:
    url = live_server.url
    demo, other = live_server.new_key("demo"), live_server.new_key("other")
    memory = live_server.memory("demo")
    added = memory.add("Likes to play chess", user_id="alex", infer=False, categories=["likes"])
    memory_id = added.results[0].id
    memory.update(memory_id, text="Plays chess every week")
    memory.add("Answers billing questions", agent_id="support", infer=False)

    ops = httpx.get(f"{url}/dashboard/api/activity", headers=auth(demo)).json()
    assert [r["kind"] for r in ops["results"]] == ["add", "update", "add"]
    assert ops["results"][-1]["scope"] == {"user_id": "alex"}
    only = httpx.get(f"{url}/dashboard/api/activity?kind=update", headers=auth(demo)).json()
    assert [r["kind"] for r in only["results"]] == ["update"]
    series = httpx.get(f"{url}/dashboard/api/series?minutes=5", headers=auth(demo)).json()
    assert len(series["buckets"]) == 5 and sum(b["operations"] for b in series["buckets"]) >= 3

    listed = httpx.get(
        f"{url}/dashboard/api/memories",
        params={"entity_type": "user", "entity_id": "alex"},
        headers=auth(demo),
    ).json()
    assert [m["memory"] for m in listed["results"]] == ["Plays chess every week"]
    searched = httpx.get(
        f"{url}/dashboard/api/memories", params={"q": "billing"}, headers=auth(demo)
    ).json()
    assert searched["mode"] == "search" and searched["results"][0]["agent_id"] == "support"
    paged = httpx.get(
        f"{url}/dashboard/api/memories", params={"page": 2, "page_size": 1}, headers=auth(demo)
    ).json()
    assert (paged["count"], paged["page"], paged["pages"], len(paged["results"])) == (2, 2, 2, 1)
    bad = httpx.get(
        f"{url}/dashboard/api/memories", params={"filters": '{"colour": 1}'}, headers=auth(demo)
    )
    assert bad.status_code == 400 and bad.json()["error"] == "InvalidFilterError"
    timeline = httpx.get(
        f"{url}/dashboard/api/memories/{memory_id}/history", headers=auth(demo)
    ).json()
    assert [h["event"] for h in timeline["history"]] == ["ADD", "UPDATE"]
    assert timeline["memory"]["memory"] == "Plays chess every week"

    # Another project's key: its own empty store, never the demo's rows or ids.
    assert httpx.get(f"{url}/dashboard/api/activity", headers=auth(other)).json()["results"] == []
    assert httpx.get(f"{url}/dashboard/api/entities", headers=auth(other)).json()["count"] == 0
    foreign = httpx.get(f"{url}/dashboard/api/memories/{memory_id}/history", headers=auth(other))
    assert foreign.status_code == 404
    named = httpx.get(f"{url}/dashboard/api/entities?project_id=demo", headers=auth(other))
    assert named.status_code == 403


DASHBOARD_ROUTES = [
    ("GET", "/dashboard"),
    ("POST", "/dashboard/logout"),
    ("GET", "/dashboard/api/activity"),
    ("GET", "/dashboard/api/series"),
    ("GET", "/dashboard/api/entities"),
    ("GET", "/dashboard/api/memories"),
    ("GET", "/dashboard/api/memories/some-id/history"),
]


def test_every_dashboard_route_needs_a_valid_key(live_server) -> None:
    url = live_server.url
    key = live_server.new_key("demo")
    listed, revoked = live_server.keys.create_key("demo", "old")
    live_server.keys.revoke_key(listed.id)
    documented = live_server.app.openapi()["paths"]
    paths = {path for path in documented if path.startswith("/dashboard")}
    assert paths == {p.replace("some-id", "{memory_id}") for _, p in DASHBOARD_ROUTES} | {
        "/dashboard/login"
    }
    for method, path in DASHBOARD_ROUTES:
        for headers, cookies in (
            ({}, {}),
            (auth("mk_wrong"), {}),
            ({}, {COOKIE_NAME: "mk_wrong"}),
            ({}, {COOKIE_NAME: revoked}),
            (auth(revoked), {COOKIE_NAME: key}),  # a header, when sent, is what counts
        ):
            with httpx.Client(base_url=url, cookies=cookies) as client:
                reply = client.request(method, path, headers=headers)
            assert reply.status_code == 401, (method, path, headers, cookies)
            assert "Likes" not in reply.text
    assert httpx.post(f"{url}/dashboard/login").status_code == 401
    assert httpx.post(f"{url}/dashboard/login", data={"key": revoked}).status_code == 401


def test_login_sets_a_strict_httponly_cookie_for_the_dashboard_only(live_server) -> None:
    url = live_server.url
    key = live_server.new_key("demo")
    reply = httpx.post(f"{url}/dashboard/login", data={"key": key})
    assert reply.status_code == 303 and reply.headers["location"] == "/dashboard"
    cookie = reply.headers["set-cookie"]
    assert f"{COOKIE_NAME}={key}" in cookie
    for part in ("HttpOnly", "Path=/dashboard", "SameSite=strict"):
        assert part in cookie
    with httpx.Client(base_url=url, cookies={COOKIE_NAME: key}) as browser:
        page = browser.get("/dashboard")
        assert page.status_code == 200 and 'id="ops-table"' in page.text
        policy = page.headers["content-security-policy"]
        assert "default-src 'none'" in policy and "script-src 'nonce-" in policy
        # Nothing loaded from elsewhere: no external script, stylesheet, image or font.
        assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//|url\(""", page.text)
        assert browser.get("/dashboard/api/entities").status_code == 200
        # The cookie is the dashboard's: the JSON API stays header-only.
        assert browser.get("/v1/ping/").status_code == 401
        logout = browser.post("/dashboard/logout")
        assert logout.status_code == 303 and f'{COOKIE_NAME}=""' in logout.headers["set-cookie"]


def test_install_browser_is_idempotent_when_chromium_is_there() -> None:
    script = REPO / "scripts" / "install_browser.sh"
    for _ in range(2):
        done = subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=30)
        assert done.returncode == 0 and done.stdout == "" and done.stderr == ""
    makefile = (REPO / "Makefile").read_text()
    assert "bash scripts/install_browser.sh" in makefile and "test: $(STAMP) browser" in makefile


def test_install_browser_fails_in_one_line_when_it_cannot_install(tmp_path) -> None:
    script = REPO / "scripts" / "install_browser.sh"
    done = subprocess.run(
        ["/bin/bash", str(script)],
        capture_output=True,
        text=True,
        timeout=30,
        env={"PATH": str(tmp_path), "MEMKIT_CHROMIUM": str(tmp_path / "chromium")},
    )
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "apt-get is not available" in done.stderr


def test_an_llm_adds_tokens_show_in_the_operations(tmp_path, server) -> None:
    llm = {"model": "test-model", "base_url": server.url, "api_key": "test-key", "timeout": 5.0}
    settings = ServerSettings(
        home=tmp_path / "llm", memory={"llm": {"provider": "openai", "config": llm}}
    )
    reply = {
        "memories": [
            {"event": "ADD", "source": 1, "text": "Likes tea", "target": None, "categories": []}
        ],
        "forget": [],
    }
    with LiveServer(settings) as live:
        key = live.new_key("demo")
        server.reply(reply)
        live.memory("demo").add("I like tea", user_id="alex")
        ops = httpx.get(f"{live.url}/dashboard/api/activity", headers=auth(key)).json()
    [add] = ops["results"]
    counts = add["counts"]
    assert add["tokens"] == counts["prompt_tokens"] + counts["completion_tokens"] > 0


def test_the_login_page_says_why_and_quotes_the_request_as_text(live_server) -> None:
    url = live_server.url
    first = httpx.get(f"{url}/dashboard")
    assert first.status_code == 401 and 'class="muted">Log in with one' in first.text
    key = live_server.new_key("demo")
    named = httpx.get(
        f"{url}/dashboard", params={"project_id": "<script>{{css}}"}, headers=auth(key)
    )
    assert named.status_code == 403 and 'class="error">this API key does not belong' in named.text
    assert "&lt;script&gt;{{css}}" in named.text and "<script>{{" not in named.text
