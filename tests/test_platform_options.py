"""The hosted platform's options of add, search and get_all, each from its documentation.

Every test runs through the ``memory`` fixture: Memory, AsyncMemory, PostgreSQL as the
record store, and a Chroma server with PostgreSQL.
"""

from __future__ import annotations

# ---- every result event carries the ids that apply ------------------------------------------


def test_each_event_carries_all_four_ids(memory):
    messages = [{"role": "user", "content": "I'm planning a trip to Japan next month."}]
    result = memory.add(messages, user_id="alex", app_id="travel", run_id="trip-planning-2024")
    assert result.results
    for event in result.results:
        assert (event.user_id, event.agent_id, event.app_id, event.run_id) == (
            "alex",
            None,
            "travel",
            "trip-planning-2024",
        )
        assert event.model_dump()["run_id"] == "trip-planning-2024"
    dual = memory.add(
        [
            {"role": "user", "content": "I'm travelling to San Francisco"},
            {"role": "assistant", "content": "That's great! I'm going to Dubai next month."},
        ],
        user_id="user1",
        agent_id="agent1",
        run_id="r1",
    )
    sides = {(e.user_id, e.agent_id, e.app_id, e.run_id) for e in dual.results}
    assert sides == {("user1", None, None, "r1"), (None, "agent1", None, "r1")}
