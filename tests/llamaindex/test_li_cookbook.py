"""Every LlamaIndex cookbook example runs, offline, and shows what it claims."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import llama_index.core
import pytest

from llamaindex_memkit.testing import RecordingLLM

COOKBOOK = Path(__file__).resolve().parents[2] / "cookbook"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"cookbook_{name}", COOKBOOK / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def offline_model(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    # Examples may call use_offline_tokenizer(); put LlamaIndex's global back afterwards.
    monkeypatch.setattr(llama_index.core, "global_tokenizer", llama_index.core.global_tokenizer)


def test_agent_remembers_a_user_across_sessions(capsys):
    llm = RecordingLLM()
    result = load("llamaindex_agent_memory").main(llm=llm)
    assert set(result["alex_memories"]) == {"Lives in Lisbon", "Is a vegetarian"}
    assert "Lisbon" in result["second"] and "vegetarian" in result["second"]
    assert "- Lives in Lisbon" in llm.prompts[-1]
    assert "Oslo" not in llm.prompts[-1] and "steak" not in llm.prompts[-1]
    assert "session 2" in capsys.readouterr().out


def test_chat_engine_over_the_retriever():
    result = load("llamaindex_chat_engine").main()
    assert {text for text, _ in result["sources"]} == {
        "Is vegetarian and allergic to peanuts",
        "Favourite cuisine is Thai",
    }
    assert "Is vegetarian and allergic to peanuts" in result["answer"]
    assert "steak" not in result["answer"] + result["follow_up"]


def test_memory_class_with_a_memkit_block():
    result = load("llamaindex_memory_block").main()
    assert "Lives in Lisbon" in result["flushed"]
    assert "<memkit_memories>" in result["context"] and "- Lives in Lisbon" in result["context"]
    assert "Lives in Lisbon" in result["answer"]


@pytest.mark.parametrize(
    "name", ["llamaindex_agent_memory", "llamaindex_chat_engine", "llamaindex_memory_block"]
)
def test_a_key_selects_the_real_model(monkeypatch, name):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-used")
    module = load(name)
    args = ([],) if name == "llamaindex_chat_engine" else ()
    try:
        installed = importlib.util.find_spec("llama_index.llms.openai") is not None
    except ModuleNotFoundError:
        installed = False
    if not installed:
        with pytest.raises(ImportError, match="llama-index-llms-openai"):
            module.make_llm(*args)
    else:
        assert type(module.make_llm(*args)).__name__ == "OpenAI"
