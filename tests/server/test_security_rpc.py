"""``/v1/memkit/import_`` takes the lines in the body; it never reads a server file.

A path would be opened on the server: another project's backup imported into the
caller's store, or any file's existence and first line's shape told by the error.
"""

from __future__ import annotations

import httpx
import pytest


def call(live, key: str, operation: str, body: dict) -> httpx.Response:
    return httpx.post(
        f"{live.url}/v1/memkit/{operation}/",
        json=body,
        headers={"Authorization": f"Token {key}"},
        timeout=60,
    )


@pytest.mark.parametrize(
    "source", ["{backup}", "/etc/passwd", "/no/such/file", {"$memkit": "opaque"}]
)
def test_import_never_reads_a_file_of_the_server(live_server, tmp_path, source) -> None:
    owner = live_server.new_key("proj_a")
    stranger = live_server.new_key("proj_b")
    added = call(
        live_server, owner, "add", {"messages": "I like tea", "user_id": "u", "infer": False}
    )
    assert added.status_code == 200
    backup = tmp_path / "proj_a.jsonl"
    live_server.memory("proj_a").export(str(backup))
    if source == "{backup}":
        source = str(backup)
    reply = call(live_server, stranger, "import_", {"source": source})
    assert reply.status_code == 400
    assert reply.json()["error"] == "InvalidInputError"
    assert "reads no files" in reply.json()["detail"]
    assert live_server.memory("proj_b").get_all().count == 0


def test_import_of_the_lines_still_works(live_server, tmp_path) -> None:
    owner = live_server.new_key("proj_a")
    call(live_server, owner, "add", {"messages": "I like tea", "user_id": "u", "infer": False})
    backup = tmp_path / "proj_a.jsonl"
    live_server.memory("proj_a").export(str(backup))
    lines = backup.read_text().splitlines()
    reply = call(live_server, live_server.new_key("proj_b"), "import_", {"source": lines})
    assert reply.status_code == 200 and reply.json()["value"]["added"] == 1
