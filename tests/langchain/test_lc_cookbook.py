"""Every LangChain cookbook example runs: offline with fakes, and on a real OpenAI client
against the local scripted OpenAI-compatible server."""

from __future__ import annotations

import importlib.util
import itertools
import sys
from pathlib import Path
from types import ModuleType

import pytest

from langchain_memkit.testing import ScriptedChatModel, answer_from_memories, recalled_memories
from memkit.recall import DEFAULT_HEADER
from memkit.testing.openai_server import RecordedRequest, ScriptedOpenAI

COOKBOOK = Path(__file__).resolve().parents[2] / "cookbook"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"cookbook_{name}", COOKBOOK / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)


def test_every_langchain_example_is_tested() -> None:
    tested = {"langchain_agent_memory", "langchain_rag_filter", "langchain_langgraph_store"}
    assert {p.stem for p in COOKBOOK.glob("langchain_*.py")} == tested


def test_agent_remembers_a_user_across_sessions(tmp_path: Path) -> None:
    example = load("langchain_agent_memory")
    model = ScriptedChatModel(messages=itertools.repeat(answer_from_memories))
    first, _, alice, bob = example.main(model=model, path=str(tmp_path))
    assert "Lisbon" not in first
    assert "Lives in Lisbon" in alice and "Loves green tea" in alice and "Oslo" not in alice
    assert "Lives in Oslo" in bob and "Lisbon" not in bob
    assert set(recalled_memories(model.calls[2])) == {"Lives in Lisbon", "Loves green tea"}


def test_agent_example_on_a_real_openai_client(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def respond(request: RecordedRequest) -> str:
        system = request.messages[0]["content"]
        known = (
            [
                line[2:]
                for line in system.split(DEFAULT_HEADER)[-1].splitlines()
                if line.startswith("- ")
            ]
            if DEFAULT_HEADER in system
            else []
        )
        return "You: " + "; ".join(known) if known else "Nice to meet you."

    with ScriptedOpenAI(responder=respond) as server:
        monkeypatch.setenv("OPENAI_API_KEY", "test-key")
        monkeypatch.setenv("OPENAI_BASE_URL", server.url)
        answers = load("langchain_agent_memory").main(path=str(tmp_path))
        assert len(server.requests) == 4
    assert answers[2] in (
        "You: Lives in Lisbon; Loves green tea",
        "You: Loves green tea; Lives in Lisbon",
    )
    assert answers[3] == "You: Lives in Oslo"


def test_rag_chain_answers_from_the_filtered_memories(tmp_path: Path) -> None:
    example = load("langchain_rag_filter")
    model = ScriptedChatModel(messages=itertools.repeat(example.quote_context))
    answer = example.main(model=model, path=str(tmp_path))
    assert "Japan Rail Pass" in answer and "window seats" in answer
    seen = " ".join(m.text for m in model.calls[0])
    assert "peanuts" not in seen and "ramen" not in seen


def test_langgraph_graph_keeps_memories_with_langmem_tools(tmp_path: Path) -> None:
    example = load("langchain_langgraph_store")
    saved, recalled = example.main(model=example.scripted_model(), path=str(tmp_path))
    assert saved == "Good luck with the training!"
    assert recalled == "You told me: Is training for the Berlin marathon"


def test_examples_default_to_offline_models() -> None:
    for name in ("langchain_agent_memory", "langchain_rag_filter", "langchain_langgraph_store"):
        assert isinstance(load(name).default_model(), ScriptedChatModel)
