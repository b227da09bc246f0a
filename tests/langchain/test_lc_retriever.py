"""MemkitRetriever: langchain-tests' standard suite, plus scope, filters and metadata."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.documents import Document
from langchain_core.runnables import RunnableLambda
from langchain_tests.integration_tests import RetrieversIntegrationTests

from langchain_memkit import MemkitRetriever
from memkit import Memory
from memkit.errors import InvalidFilterError, InvalidInputError

pytest_plugins = ["lc_fixtures"]  # the shared fixtures: mem, both, client, spy

FACTS = [
    ("Loves green tea", {"topic": "food"}, ["food_preferences"]),
    ("Likes hiking in the Alps", {"topic": "travel"}, ["hobbies"]),
    ("Is allergic to peanuts", {"topic": "food"}, ["health"]),
    ("Plays the cello", {"topic": "music"}, ["hobbies"]),
    ("Visited Japan in 2023", {"topic": "travel"}, ["travel"]),
]


def seed(memory: Memory) -> None:
    for text, metadata, categories in FACTS:
        memory.add(text, user_id="alex", metadata=metadata, categories=categories, infer=False)
    memory.add("Loves black coffee", user_id="sam", infer=False)


class TestMemkitRetrieverStandard(RetrieversIntegrationTests):
    """The framework's own retriever suite, offline against an embedded store."""

    @pytest.fixture(autouse=True)
    def _memory(self, memkit_home: Any) -> Iterator[None]:
        self.memory = Memory()
        seed(self.memory)
        yield
        self.memory.close()

    @property
    def retriever_constructor(self) -> type[MemkitRetriever]:
        return MemkitRetriever

    @property
    def retriever_constructor_params(self) -> dict[str, Any]:
        return {"memory": self.memory, "user_id": "alex"}

    @property
    def retriever_query_example(self) -> str:
        return "what does alex like to drink?"


@pytest.fixture
def seeded(mem: Memory) -> Memory:
    seed(mem)
    return mem


def test_documents_carry_text_score_and_every_record_field(seeded: Memory, client, both) -> None:
    retriever = MemkitRetriever(memory=client, user_id="alex", k=2)
    docs = both(lambda: retriever.invoke("tea"), lambda: retriever.ainvoke("tea"))
    assert len(docs) == 2 and docs[0].page_content == "Loves green tea"
    top = docs[0]
    assert isinstance(top, Document) and top.id == top.metadata["id"]
    record = seeded.get(top.id).model_dump(mode="json")
    record.pop("memory")
    assert {k: v for k, v in top.metadata.items() if k != "score"} == record
    assert top.metadata["score"] >= docs[1].metadata["score"]


def test_scope_never_leaks_and_config_selects_the_user(seeded: Memory, client, both) -> None:
    retriever = MemkitRetriever(memory=client, user_id="alex", k=10)
    alex = both(lambda: retriever.invoke("coffee"), lambda: retriever.ainvoke("coffee"))
    assert {d.metadata["user_id"] for d in alex} == {"alex"}
    assert "Loves black coffee" not in [d.page_content for d in alex]
    config = {"configurable": {"user_id": "sam"}}
    sam = both(
        lambda: retriever.invoke("coffee", config), lambda: retriever.ainvoke("coffee", config)
    )
    assert [d.page_content for d in sam] == ["Loves black coffee"]


def test_scope_from_config_inside_a_chain(seeded: Memory) -> None:
    chain = MemkitRetriever(memory=seeded) | RunnableLambda(lambda docs: docs[0].page_content)
    assert chain.invoke("coffee", {"configurable": {"user_id": "sam"}}) == "Loves black coffee"


def test_filters_on_component_and_call_are_anded(seeded: Memory, client, both) -> None:
    retriever = MemkitRetriever(
        memory=client, user_id="alex", filters={"metadata": {"topic": "travel"}}
    )
    docs = both(lambda: retriever.invoke("anything"), lambda: retriever.ainvoke("anything"))
    assert {d.page_content for d in docs} == {"Likes hiking in the Alps", "Visited Japan in 2023"}
    narrowed = {"categories": {"contains": "hobbies"}}
    docs = both(
        lambda: retriever.invoke("anything", filters=narrowed),
        lambda: retriever.ainvoke("anything", filters=narrowed),
    )
    assert [d.page_content for d in docs] == ["Likes hiking in the Alps"]


def test_threshold_drops_weak_hits(seeded: Memory) -> None:
    everything = MemkitRetriever(memory=seeded, user_id="alex", k=10).invoke("green tea")
    scores = sorted((d.metadata["score"] for d in everything), reverse=True)
    cut = (scores[1] + scores[2]) / 2
    strict = MemkitRetriever(memory=seeded, user_id="alex", k=10, threshold=cut)
    assert len(strict.invoke("green tea")) == 2
    assert len(strict.invoke("green tea", threshold=2.0)) == 0


def test_no_scope_refuses_to_run(seeded: Memory) -> None:
    with pytest.raises(InvalidInputError, match="no memkit scope"):
        MemkitRetriever(memory=seeded).invoke("tea")


def test_bad_filters_are_memkit_errors(seeded: Memory) -> None:
    retriever = MemkitRetriever(memory=seeded, user_id="alex")
    with pytest.raises(InvalidFilterError):
        retriever.invoke("tea", filters={"colour": "red"})
    with pytest.raises(TypeError, match="unexpected keyword"):
        retriever.invoke("tea", top_k=3)
