"""The platform's structured export over the server, through mem0ai's own client: the
project's LLM (a scripted OpenAI-compatible server on loopback) fills the schema."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator

import httpx
import pytest

# Before mem0 is imported: it reads its telemetry switch once, and makes its directory
# (~/.mem0 unless MEM0_DIR says otherwise), at import.
os.environ["MEM0_TELEMETRY"] = "False"
os.environ.setdefault("MEM0_DIR", os.path.join(tempfile.gettempdir(), "memkit-tests-mem0"))
from mem0 import MemoryClient

from memkit.server import ServerSettings
from memkit.testing.live_server import LiveServer
from memkit.testing.openai_server import ScriptedOpenAI

SCHEMA = {
    "type": "object",
    "properties": {"drinks": {"type": "array", "items": {"type": "string"}}},
    "required": ["drinks"],
}


@pytest.fixture
def llm_live(tmp_path, server: ScriptedOpenAI) -> Iterator[LiveServer]:
    llm = {"model": "test-model", "base_url": server.url, "api_key": "k", "max_retries": 0}
    settings = ServerSettings(home=tmp_path / "server", memory={"llm": {"config": llm}})
    with LiveServer(settings) as live:
        yield live


def test_structured_export_through_the_platform_client(
    llm_live: LiveServer, server: ScriptedOpenAI
) -> None:
    key = llm_live.new_key("exports")
    client = MemoryClient(api_key=key, host=llm_live.url)
    client.add("I like green tea", user_id="alex", infer=False)
    client.add("I drink coffee", user_id="bob", infer=False)
    server.reply({"drinks": ["green tea"]})

    job = client.create_memory_export(json.dumps(SCHEMA), user_id="alex")
    assert job["message"].startswith("Memory export request received") and job["id"]
    assert client.get_memory_export(memory_export_id=job["id"]) == {"drinks": ["green tea"]}
    assert client.get_memory_export(user_id="alex") == {"drinks": ["green tea"]}  # the latest
    prompt = json.dumps(server.chat_requests[-1].body)
    assert "green tea" in prompt and "coffee" not in prompt  # bob's memory is not alex's

    # another project's key finds nothing of it
    other = httpx.post(
        f"{llm_live.url}/v1/exports/get/",
        json={"memory_export_id": job["id"]},
        headers={"Authorization": f"Token {llm_live.new_key('elsewhere')}"},
    )
    assert other.status_code == 400 and "no memory export" in other.json()["detail"]
