"""Request bodies are bounded (``ServerSettings.max_body_bytes``): declared or streamed."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from memkit.server import ServerSettings
from memkit.testing.live_server import LiveServer


@pytest.fixture
def small(tmp_path) -> Iterator[LiveServer]:
    with LiveServer(ServerSettings(home=tmp_path / "server", max_body_bytes=4096)) as live:
        yield live


def test_a_declared_oversized_body_is_413_before_any_route(small) -> None:
    key = small.new_key("proj_a")
    for path in ("/v1/memories/", "/v1/memkit/add/", "/dashboard/login"):
        reply = httpx.post(
            f"{small.url}{path}", content=b"x" * 5000, headers={"Authorization": f"Token {key}"}
        )
        assert reply.status_code == 413, path


def test_a_streamed_oversized_body_is_refused_without_being_kept(small) -> None:
    key = small.new_key("proj_a")

    def chunks() -> Iterator[bytes]:
        yield b'{"messages": "'
        for _ in range(100):
            yield b"x" * 1024
        yield b'", "user_id": "u", "infer": false}'

    reply = httpx.post(
        f"{small.url}/v1/memkit/add/",
        content=chunks(),
        headers={"Authorization": f"Token {key}", "Content-Type": "application/json"},
    )
    assert reply.status_code == 413
    assert small.memory("proj_a").get_all(user_id="u").count == 0


def test_a_body_under_the_limit_is_served(small) -> None:
    key = small.new_key("proj_a")
    reply = httpx.post(
        f"{small.url}/v1/memkit/add/",
        json={"messages": "I like tea", "user_id": "u", "infer": False},
        headers={"Authorization": f"Token {key}"},
    )
    assert reply.status_code == 200
