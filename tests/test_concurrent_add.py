"""An add plans without the store's write lock: a slow model holds up no other write, and a
plan is written only if its entity was not written while it was made."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import pytest

from memkit import Memory
from memkit.errors import ExtractionError, InvalidInputError
from memkit.extract._interface import ExtractionContext, Message, Operation, Plan, Side
from memkit.testing import HashEmbedder


class SlowModel:
    """An extractor like an LLM: it reads the entity's memories, then (the first time) waits
    at a gate as a model would; every plan moves the entity to the message's city, updating
    the memory it was shown if there is one."""

    def __init__(self) -> None:
        self.planning = threading.Event()
        self.gate = threading.Event()
        self.shown: list[list[str]] = []

    def plan(
        self, messages: Sequence[Message], sides: Sequence[Side], context: ExtractionContext
    ) -> Plan:
        text = messages[-1].content.replace("I live in", "Lives in")
        (existing,) = context.similar([text], "user")  # what the prompt shows the model
        self.shown.append([m.text for m in existing])
        if len(self.shown) == 1:  # then the model takes its time
            self.planning.set()
            assert self.gate.wait(10)
        usage = {"llm_calls": 1, "prompt_tokens": 100}
        if existing:
            update = Operation(event="UPDATE", side="user", text=text, target_id=existing[0].id)
            return Plan(operations=[update], usage=usage)
        return Plan(operations=[Operation(event="ADD", side="user", text=text)], usage=usage)


@contextmanager
def _while_alex_plans(tmp_path) -> Iterator[tuple[Memory, SlowModel]]:
    """alex's add ("I live in Lisbon") is waiting on its model for the body of the block;
    then the model answers and the add finishes. The store is closed when the test ends."""
    model = SlowModel()
    memory = Memory(path=str(tmp_path), embedder=HashEmbedder(), extractor=model)
    add = threading.Thread(
        target=memory.add, args=("I live in Lisbon",), kwargs={"user_id": "alex"}
    )
    add.start()
    assert model.planning.wait(5)
    try:
        yield memory, model
    finally:
        model.gate.set()
        add.join(5)
        assert not add.is_alive()


def _finishes(fn, *args, **kwargs) -> bool:
    thread = threading.Thread(target=fn, args=args, kwargs=kwargs)
    thread.start()
    thread.join(5)
    return not thread.is_alive()


def test_a_slow_plan_holds_up_no_other_write(tmp_path):
    with _while_alex_plans(tmp_path) as (memory, model):
        assert _finishes(memory.add, "Plays chess", user_id="bob", infer=False)
        assert _finishes(memory.search, "chess", user_id="bob")
    assert [m.memory for m in memory.get_all(user_id="alex").results] == ["Lives in Lisbon"]
    assert model.shown == [[]]  # one plan: nothing of alex's was written meanwhile
    memory.close()


def test_a_plan_overtaken_by_a_write_of_its_entity_is_made_again(tmp_path):
    with _while_alex_plans(tmp_path) as (memory, model):
        memory.add("Lives in Porto", user_id="alex", infer=False)
    # The first plan (an ADD, made before Porto existed) was dropped; the second saw Porto.
    assert model.shown == [[], ["Lives in Porto"]]
    assert [m.memory for m in memory.get_all(user_id="alex").results] == ["Lives in Lisbon"]
    (entry,) = [e for e in memory.activity(kind="add") if e["counts"].get("llm_calls")]
    assert entry["counts"]["llm_calls"] == 2 and entry["counts"]["prompt_tokens"] == 200
    memory.close()


def test_a_write_to_another_entity_does_not_cost_a_second_plan(tmp_path):
    with _while_alex_plans(tmp_path) as (memory, model):
        memory.add("Lives in Porto", user_id="bob", infer=False)
    assert model.shown == [[]]
    memory.close()


class FailOnceThenSlow(SlowModel):
    """Fails the first add (its messages are kept for replay), then plans slowly."""

    def __init__(self) -> None:
        super().__init__()
        self.failed = False

    def plan(
        self, messages: Sequence[Message], sides: Sequence[Side], context: ExtractionContext
    ) -> Plan:
        if not self.failed:
            self.failed = True
            raise ExtractionError("the model is down")
        return super().plan(messages, sides, context)


def test_a_replay_waiting_on_its_model_holds_up_no_other_write(tmp_path):
    model = FailOnceThenSlow()
    memory = Memory(path=str(tmp_path), embedder=HashEmbedder(), extractor=model)
    with pytest.raises(ExtractionError) as failed:
        memory.add("I live in Lisbon", user_id="alex")
    replay = threading.Thread(target=memory.replay, args=(failed.value.pending_id,))
    replay.start()
    assert model.planning.wait(5)
    try:
        assert _finishes(memory.add, "Plays chess", user_id="bob", infer=False)
        with pytest.raises(InvalidInputError, match="being replayed"):
            memory.replay(failed.value.pending_id)  # one replay of a row at a time
    finally:
        model.gate.set()
        replay.join(5)
    assert not replay.is_alive()
    assert [m.memory for m in memory.get_all(user_id="alex").results] == ["Lives in Lisbon"]
    assert memory.pending() == []
    memory.close()
