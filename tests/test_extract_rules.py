"""The offline rule extractor: facts, categories, reconciliation and spoken deletes.

Runs against a small in-memory ExtractionContext whose similarity is crude word
overlap, so every decision here comes from the extractor's own rules.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence

import pytest

from memkit.errors import ConfigError, InvalidInputError
from memkit.extract._categories import DEFAULT_CATEGORIES, Categorizer, normalize_categories
from memkit.extract._interface import ExistingMemory, Message, Operation, Plan, Side
from memkit.extract._rules import RuleExtractor

_WORD = re.compile(r"[a-z0-9]+")


class FakeContext:
    """Memories in a dict; ``similar`` returns the ``top_k`` nearest of that side by Jaccard
    overlap of words (like a vector index, it returns them however far they are)."""

    def __init__(self, top_k: int = 5) -> None:
        self.top_k = top_k
        self.memories: dict[str, tuple[Side, str, tuple[str, ...]]] = {}
        self.shown: set[str] = set()
        self.calls: list[tuple[str, list[str], Side]] = []
        self._ids = itertools.count(1)

    def add(self, side: Side, text: str, categories: Sequence[str] = ()) -> str:
        memory_id = f"m{next(self._ids)}"
        self.memories[memory_id] = (side, text, tuple(categories))
        return memory_id

    def similar(self, texts: Sequence[str], side: Side) -> list[list[ExistingMemory]]:
        self.calls.append(("similar", list(texts), side))
        return [self._nearest(text, side) for text in texts]

    def _nearest(self, text: str, side: Side) -> list[ExistingMemory]:
        query = set(_WORD.findall(text.lower()))
        rows = []
        for memory_id, (owner, stored, categories) in self.memories.items():
            words = set(_WORD.findall(stored.lower()))
            if owner == side:
                score = len(query & words) / len(query | words)
                rows.append(ExistingMemory(id=memory_id, text=stored, categories=categories,
                                           score=score))  # fmt: skip
        rows.sort(key=lambda m: -m.score)
        self.shown.update(m.id for m in rows[: self.top_k])
        return rows[: self.top_k]

    def in_categories(self, categories: Sequence[str], side: Side) -> list[ExistingMemory]:
        self.calls.append(("in_categories", list(categories), side))
        found = [
            ExistingMemory(id=i, text=text, categories=cats, score=1.0)
            for i, (owner, text, cats) in self.memories.items()
            if owner == side and set(cats) & set(categories)
        ]
        self.shown.update(m.id for m in found)
        return found

    def all_memories(self, side: Side) -> list[ExistingMemory]:
        self.calls.append(("all_memories", [], side))
        found = [
            ExistingMemory(id=i, text=text, categories=cats, score=1.0)
            for i, (owner, text, cats) in self.memories.items()
            if owner == side
        ]
        self.shown.update(m.id for m in found)
        return found

    def apply(self, plan: Plan) -> None:
        """Write a plan the way Memory does, checking it only names ids it was shown."""
        for op in plan.operations:
            if op.event == "ADD":
                self.add(op.side, op.text or "", op.categories)
                continue
            assert op.target_id in self.shown, f"{op} names an id the context never showed"
            if op.event == "UPDATE":
                side, _, cats = self.memories[op.target_id]
                self.memories[op.target_id] = (side, op.text or "", op.categories or cats)
            elif op.event == "DELETE":
                del self.memories[op.target_id]

    def texts(self, side: Side = "user") -> list[str]:
        return [text for owner, text, _ in self.memories.values() if owner == side]


def msgs(*pairs: tuple[str, str]) -> list[Message]:
    return [Message(role=role, content=content) for role, content in pairs]


def run(
    context: FakeContext,
    messages: list[Message],
    sides: Sequence[Side] = ("user",),
    extractor: RuleExtractor | None = None,
) -> list[Operation]:
    plan = (extractor or RuleExtractor()).plan(messages, list(sides), context)
    context.apply(plan)
    return plan.operations


def added(messages: list[Message], sides: Sequence[Side] = ("user",)) -> list[tuple[str, str]]:
    ops = run(FakeContext(), messages, sides)
    assert all(op.event == "ADD" for op in ops)
    return [(op.side, op.text or "") for op in ops]


# ---------------------------------------------------------------- the reference's examples

HISTORY_1 = ("user", "I recently tried chicken and I loved it. "
                     "I'm thinking of trying more non-vegetarian dishes..")  # fmt: skip

REFERENCE = [
    pytest.param(msgs(("user", "I'm travelling to SF")), ("user",),
                 [("user", "Is travelling to SF", "travel")], id="async-add"),
    pytest.param(
        msgs(("user", "Hi, I'm Alex. I'm a vegetarian and I'm allergic to nuts."),
             ("assistant", "Hello Alex! I've noted that you're a vegetarian and have a nut "
                           "allergy. I'll keep this in mind for any food-related "
                           "recommendations or discussions.")),
        ("user",),
        [("user", "Name is Alex", "personal_details"),
         ("user", "Is a vegetarian", "food_preferences"),
         ("user", "Is allergic to nuts", "health")],
        id="long-term",
    ),
    pytest.param(
        msgs(("user", "My favorite cuisine is Italian"),
             ("assistant", "Nice! What about Indian cuisine?"),
             ("user", "Don't like it much since I cannot eat spicy food")),
        ("user",),
        [("user", "Favorite cuisine is Italian", "food_preferences"),
         ("user", "Doesn't like Indian cuisine much since cannot eat spicy food",
          "food_preferences")],
        id="reply-to-question",
    ),
    pytest.param(
        msgs(("user", "I'm planning a trip to Japan next month."),
             ("assistant", "That's exciting, Alex! A trip to Japan next month sounds "
                           "wonderful. Would you like some recommendations for "
                           "vegetarian-friendly restaurants in Japan?"),
             ("user", "Yes, please! Especially in Tokyo."),
             ("assistant", "Great! I'll remember that you're interested in vegetarian "
                           "restaurants in Tokyo for your upcoming trip. I'll prepare a list "
                           "for you in our next interaction.")),
        ("user",),
        [("user", "Is planning a trip to Japan next month", "travel"),
         ("user", "Wants vegetarian-friendly restaurant recommendations in Tokyo",
          "food_preferences")],
        id="short-term",
    ),
    pytest.param(
        msgs(("system", "You are an AI tutor with a personality. Give yourself a name for "
                        "the user."),
             ("assistant", "Understood. I'm an AI tutor with a personality. My name is Alice.")),
        ("assistant",),
        [("assistant", "Is an AI tutor with a personality", "professional_details"),
         ("assistant", "Name is Alice", "personal_details")],
        id="agent",
    ),
    pytest.param(
        msgs(("user", "I'm travelling to San Francisco"),
             ("assistant", "That's great! I'm going to Dubai next month.")),
        ("user", "assistant"),
        [("user", "Is travelling to San Francisco", "travel"),
         ("assistant", "Is going to Dubai next month", "travel")],
        id="dual",
    ),
    pytest.param(
        msgs(HISTORY_1), ("user",),
        [("user", "Recently tried chicken and loved it", "food_preferences"),
         ("user", "Is thinking of trying more non-vegetarian dishes", "food_preferences")],
        id="history-first-add",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("messages", "sides", "expected"), REFERENCE)
def test_reference_examples(
    messages: list[Message], sides: Sequence[Side], expected: list[tuple[str, str, str]]
) -> None:
    ops = run(FakeContext(), messages, sides)
    assert [(op.event, op.side, op.text) for op in ops] == [("ADD", s, t) for s, t, _ in expected]
    for op, (_, _, category) in zip(ops, expected, strict=True):
        assert category in op.categories, (op.text, op.categories)


def test_history_example_updates_and_leaves_no_contradiction() -> None:
    context = FakeContext()
    run(context, msgs(HISTORY_1))
    first_ids = set(context.memories)
    ops = run(context, msgs(HISTORY_1, ("user", "I turned vegetarian now.")))
    assert sorted(op.event for op in ops) == ["DELETE", "UPDATE"]
    assert {op.target_id for op in ops} == first_ids
    assert [op.text for op in ops if op.event == "UPDATE"] == ["Turned vegetarian"]
    assert context.texts() == ["Turned vegetarian"]
    # sent once more, nothing changes
    again = run(context, msgs(HISTORY_1, ("user", "I turned vegetarian now.")))
    assert [(op.event, op.text) for op in again] == [("NONE", "Turned vegetarian")]


@pytest.mark.parametrize(
    "request_text",
    [
        "Delete all of my food preferences",
        "Forget my food preferences",
        "Can you please remove my food preferences from your memory?",
    ],
)
def test_natural_language_delete_of_food_preferences(request_text: str) -> None:
    context = FakeContext()
    run(context, msgs(("user", "I'm a vegetarian and I'm allergic to nuts. I live in Paris.")))
    food = {i for i, (_, _, cats) in context.memories.items() if "food_preferences" in cats}
    ops = run(context, msgs(("user", request_text)))
    assert {op.event for op in ops} == {"DELETE"}
    assert {op.target_id for op in ops} == food
    assert context.texts() == ["Lives in Paris"]
    assert ("in_categories", ["food_preferences"], "user") in context.calls


# ---------------------------------------------------------------- roles and sides


def test_user_side_takes_only_user_messages() -> None:
    messages = msgs(("system", "I am a helpful assistant."), ("user", "I live in Rome"),
                    ("assistant", "I live in the cloud."))  # fmt: skip
    assert added(messages, ["user"]) == [("user", "Lives in Rome")]
    assert added(messages, ["assistant"]) == [("assistant", "Lives in the cloud")]
    assert added(messages, ["user", "assistant"]) == [
        ("user", "Lives in Rome"),
        ("assistant", "Lives in the cloud"),
    ]


def test_system_messages_never_give_facts() -> None:
    messages = msgs(("system", "I am Bob. I love sushi. My name is Bob."))
    assert added(messages, ["user", "assistant"]) == []


def test_similar_is_called_once_per_side() -> None:
    context = FakeContext()
    messages = msgs(("user", "I live in Rome. I love jazz."), ("assistant", "I'm a tutor."),
                    ("user", "I have a cat."))  # fmt: skip
    run(context, messages, ["user", "assistant"])
    similar = [(texts, side) for kind, texts, side in context.calls if kind == "similar"]
    assert similar == [
        (["Lives in Rome", "Loves jazz", "Has a cat"], "user"),
        (["Is a tutor"], "assistant"),
    ]


def test_unknown_side_is_rejected() -> None:
    with pytest.raises(InvalidInputError, match="system"):
        RuleExtractor().plan(msgs(("user", "hi")), ["system"], FakeContext())  # type: ignore[list-item]


# ---------------------------------------------------------------- writing facts

REWRITES = [
    ("I live in Paris", ["Lives in Paris"]),
    ("I work at Acme as an engineer", ["Works at Acme as an engineer"]),
    ("I have two cats", ["Has two cats"]),
    ("I've got a dog named Max", ["Has a dog named Max"]),
    ("I don't drink coffee", ["Doesn't drink coffee"]),
    ("I do not drink coffee", ["Does not drink coffee"]),
    ("I can't swim", ["Cannot swim"]),
    ("Im a nurse", ["Is a nurse"]),
    ("i am 30", ["Is 30 years old"]),
    ("I've been to Rome twice", ["Has been to Rome twice"]),
    ("I study physics", ["Studies physics"]),
    ("I usually go running on weekends", ["Usually goes running on weekends"]),
    ("I really like tea, and I hate coffee", ["Likes tea", "Hates coffee"]),
    ("My sister lives in London", ["Sister lives in London"]),
    ("I love my dog", ["Loves their dog"]),
    ("My wife and I love hiking", ["Loves hiking with wife"]),
    ("I'd love to visit Kyoto", ["Would love to visit Kyoto"]),
    ("Last year, I moved to Berlin", ["Moved to Berlin last year"]),
    ("I'm Sam, a teacher from Leeds", ["Name is Sam", "Is a teacher from Leeds"]),
    ("I'm Italian", ["Is Italian"]),
]


@pytest.mark.parametrize(("text", "facts"), REWRITES)
def test_first_person_rewriting(text: str, facts: list[str]) -> None:
    assert added(msgs(("user", text))) == [("user", f) for f in facts]


CHATTER = [
    ("user", "Hello!"),
    ("user", "Thanks, that's great!"),
    ("user", "Can you recommend a good book?"),
    ("user", "What's the weather like in Paris?"),
    ("user", "Tell me a joke"),
    ("user", "Yes, please!"),
    ("user", "I see."),
    ("user", "I'm fine, thanks"),
    ("user", "I want you to write a poem"),
    ("user", "Remove the onions from the recipe"),
    ("assistant", "Hello Alex! I've noted that you're a vegetarian."),
    ("assistant", "I'll prepare a list for you in our next interaction."),
    ("assistant", "I'm happy to help!"),
]


@pytest.mark.parametrize(("role", "text"), CHATTER)
def test_no_facts_from_greetings_questions_and_requests(role: str, text: str) -> None:
    assert run(FakeContext(), msgs((role, text)), [role]) == []  # type: ignore[list-item]


@pytest.mark.parametrize(
    ("question", "reply", "facts"),
    [
        ("What's your favorite color?", "Blue, probably.", ["Favorite color is Blue"]),
        ("Where do you live?", "In Lisbon", ["Lives in Lisbon"]),
        ("Do you like jazz?", "Yes!", ["Likes jazz"]),
        ("Do you like jazz?", "Not really", ["Doesn't like jazz"]),
        ("What about Indian food?", "Love it!", ["Loves Indian food"]),
        ("What's your favorite color?", "Not sure", []),
        ("Would you like me to make a list?", "Yes please", []),
    ],
)
def test_short_replies_take_their_topic_from_the_question(
    question: str, reply: str, facts: list[str]
) -> None:
    messages = msgs(("assistant", question), ("user", reply))
    assert added(messages) == [("user", f) for f in facts]


# ---------------------------------------------------------------- reconciliation


def test_the_same_message_twice_is_all_none() -> None:
    context = FakeContext()
    message = msgs(("user", "Hi, I'm Alex. I'm a vegetarian and I'm allergic to nuts."))
    first = run(context, message)
    second = run(context, message)
    assert [op.event for op in second] == ["NONE"] * len(first)
    assert [op.target_id for op in second] == list(context.memories)
    assert len(context.memories) == 3


@pytest.mark.parametrize(
    ("stored", "said"),
    [
        ("Is a vegetarian", "I'm vegetarian."),
        ("Likes Italian food", "I like italian food!"),
        ("Lives in Paris with their wife", "I live in Paris"),
        ("Is a vegetarian", "I became a vegetarian"),
    ],
)
def test_none_when_a_memory_already_says_it(stored: str, said: str) -> None:
    context = FakeContext()
    memory_id = context.add("user", stored)
    ops = run(context, msgs(("user", said)))
    assert [(op.event, op.target_id) for op in ops] == [("NONE", memory_id)]


def test_facts_repeated_in_one_add_are_stored_once() -> None:
    ops = run(FakeContext(), msgs(("user", "I love jazz."), ("user", "I love jazz")))
    assert [(op.event, op.text) for op in ops] == [("ADD", "Loves jazz")]


@pytest.mark.parametrize(
    ("stored", "said", "new"),
    [
        ("Name is Alex", "My name is Sam", "Name is Sam"),
        ("Lives in Paris", "I live in Berlin", "Lives in Berlin"),
        ("Lives in Paris", "I moved to Berlin", "Moved to Berlin"),
        ("Favorite cuisine is Italian", "My favorite cuisine is Thai", "Favorite cuisine is Thai"),
        ("Works at Acme", "I work at Globex", "Works at Globex"),
        ("Likes sushi", "I hate sushi", "Hates sushi"),
        ("Likes Indian cuisine", "I don't like Indian cuisine", "Doesn't like Indian cuisine"),
        ("Eats meat", "I'm a vegetarian", "Is a vegetarian"),
        ("Is a vegetarian", "I'm vegan now", "Is vegan"),
        ("Likes sushi", "I like sushi and ramen", "Likes sushi and ramen"),
    ],
)
def test_update_when_the_new_fact_supersedes(stored: str, said: str, new: str) -> None:
    context = FakeContext()
    memory_id = context.add("user", stored)
    other = context.add("user", "Has a cat named Tom")
    ops = run(context, msgs(("user", said)))
    assert [(op.event, op.target_id, op.text) for op in ops] == [("UPDATE", memory_id, new)]
    assert other in context.memories


def test_one_fact_replacing_several_updates_the_closest_and_deletes_the_rest() -> None:
    context = FakeContext()
    lyon = context.add("user", "Lives in Lyon")
    paris = context.add("user", "Lives in Paris with their sister")
    ops = run(context, msgs(("user", "I live in Berlin with my sister")))
    assert [(op.event, op.target_id) for op in ops] == [("UPDATE", paris), ("DELETE", lyon)]
    assert context.texts() == ["Lives in Berlin with their sister"]


def test_facts_of_one_message_never_cancel_each_other() -> None:
    ops = run(FakeContext(), msgs(("user", "I'm a vegetarian. I eat fish on Fridays.")))
    assert [(op.event, op.text) for op in ops] == [
        ("ADD", "Is a vegetarian"),
        ("ADD", "Eats fish on Fridays"),
    ]


def test_diet_change_reaches_memories_outside_the_nearest() -> None:
    context = FakeContext(top_k=1)
    steak = context.add("user", "Loves steak", ["food_preferences"])
    burgers = context.add("user", "Eats burgers every week", ["food_preferences"])
    context.add("user", "Is allergic to chicken", ["health", "food_preferences"])
    ops = run(context, msgs(("user", "I went vegan")))
    assert [(op.event, op.target_id) for op in ops] == [("UPDATE", steak), ("DELETE", burgers)]
    assert context.texts() == ["Went vegan", "Is allergic to chicken"]


def test_someone_elses_diet_is_not_a_contradiction() -> None:
    context = FakeContext()
    context.add("user", "Is a vegetarian", ["food_preferences"])
    ops = run(context, msgs(("user", "My husband loves steak")))
    assert [(op.event, op.text) for op in ops] == [("ADD", "Husband loves steak")]


def test_other_sides_memories_are_untouched() -> None:
    context = FakeContext()
    agent = context.add("assistant", "Lives in Paris")
    ops = run(context, msgs(("user", "I live in Berlin")), ["user"])
    assert [op.event for op in ops] == ["ADD"]
    assert agent in context.memories


# ---------------------------------------------------------------- spoken deletes


def test_specific_delete_removes_only_the_matching_memory() -> None:
    context = FakeContext()
    paris = context.add("user", "Lives in Paris")
    context.add("user", "Works in Paris")
    context.add("user", "Lives with two cats")
    ops = run(context, msgs(("user", "Forget that I live in Paris")))
    assert [(op.event, op.target_id) for op in ops] == [("DELETE", paris)]


def test_forget_my_name_keeps_other_names() -> None:
    context = FakeContext()
    name = context.add("user", "Name is Alex")
    context.add("user", "Wife's name is Sarah")
    ops = run(context, msgs(("user", "Please forget my name.")))
    assert [(op.event, op.target_id) for op in ops] == [("DELETE", name)]


def test_topic_delete_by_category() -> None:
    context = FakeContext()
    trip = context.add("user", "Is planning a trip to Japan", ["travel"])
    flight = context.add("user", "Booked a flight to Rome", ["travel"])
    context.add("user", "Loves jazz", ["music"])
    ops = run(context, msgs(("user", "Remove everything about my travel plans")))
    assert [(op.event, op.target_id) for op in ops] == [("DELETE", trip), ("DELETE", flight)]


def test_forget_everything_about_me() -> None:
    context = FakeContext()
    context.add("user", "Loves jazz", ["music"])
    context.add("user", "Lives in Rome", ["personal_details"])
    context.add("assistant", "Is a tutor", ["professional_details"])
    ops = run(context, msgs(("user", "Forget everything about me")))
    assert len(ops) == 2 and {op.event for op in ops} == {"DELETE"}
    assert context.texts("assistant") == ["Is a tutor"]


def test_agent_side_deletes_agent_memories_only() -> None:
    context = FakeContext()
    agent = context.add("assistant", "Name is Alice")
    context.add("user", "Name is Alex")
    ops = run(context, msgs(("assistant", "Forget my name.")), ["user", "assistant"])
    assert [(op.event, op.side, op.target_id) for op in ops] == [("DELETE", "assistant", agent)]


def test_a_delete_request_adds_nothing_and_cancels_earlier_facts() -> None:
    context = FakeContext()
    ops = run(context, msgs(("user", "I live in Paris."), ("user", "Forget that I live in Paris."),
                            ("user", "I love jazz.")))  # fmt: skip
    assert [(op.event, op.text) for op in ops] == [("ADD", "Loves jazz")]


def test_delete_then_restate_in_one_message() -> None:
    context = FakeContext()
    paris = context.add("user", "Lives in Paris")
    ops = run(context, msgs(("user", "Forget that I live in Paris. I live in Berlin now.")))
    assert [(op.event, op.target_id, op.text) for op in ops] == [
        ("DELETE", paris, None),
        ("ADD", None, "Lives in Berlin"),
    ]


# ---------------------------------------------------------------- categories


def test_default_categories() -> None:
    assert "food_preferences" in DEFAULT_CATEGORIES and "food" not in DEFAULT_CATEGORIES
    assert len(DEFAULT_CATEGORIES) == 15
    assert normalize_categories(None) == DEFAULT_CATEGORIES


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("Is a vegetarian", "food_preferences"),
        ("Is allergic to nuts", "health"),
        ("Is allergic to nuts", "food_preferences"),
        ("Has two kids", "family"),
        ("Works at Acme as an engineer", "professional_details"),
        ("Plays tennis every Sunday", "sports"),
        ("Loves jazz", "music"),
        ("Is going to Dubai next month", "travel"),
        ("Lives in Paris", "personal_details"),
        ("Is 30 years old", "personal_details"),
        ("Uses a MacBook for coding", "technology"),
        ("Watches Netflix series", "entertainment"),
        ("Graduated from college last year", "milestones"),
        ("Prefers dark mode", "user_preferences"),
        ("Wears vintage jackets", "fashion"),
        ("Enjoys gardening", "hobbies"),
        ("Something unclassifiable", "misc"),
    ],
)
def test_default_categoriser(text: str, category: str) -> None:
    assert category in Categorizer(DEFAULT_CATEGORIES).categorize(text)


def test_custom_categories() -> None:
    extractor = RuleExtractor({"pets": "Dogs, cats and other animals", "likes": "", "misc": ""})
    ops = run(FakeContext(), msgs(("user", "I have a dog. I like sushi. I was born in May.")),
              extractor=extractor)  # fmt: skip
    assert [(op.text, op.categories) for op in ops] == [
        ("Has a dog", ("pets",)),
        ("Likes sushi", ("likes",)),
        ("Was born in May", ("misc",)),
    ]
    assert Categorizer({"pets": ""}).categorize("Was born in May") == ()
    assert Categorizer({"food": ""}).categorize("Loves sushi") == ("food",)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (["Travel", " pets "], {"travel": "", "pets": ""}),
        ({"pets": "Dogs"}, {"pets": "Dogs"}),
        ([{"pets": "Dogs"}, "misc"], {"pets": "Dogs", "misc": ""}),
    ],
)
def test_normalize_categories(value: object, expected: dict[str, str]) -> None:
    assert normalize_categories(value) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "named"),
    [(["ok", ""], "''"), (["a:b"], "'a:b'"), ([3], "3"), ("travel", "str"),
     ({"pets": 3}, "pets"), (["pets", "Pets"], "pets")],
)  # fmt: skip
def test_bad_categories_name_the_entry(value: object, named: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(named)):
        normalize_categories(value)  # type: ignore[arg-type]


def test_bad_categories_fail_at_construction() -> None:
    with pytest.raises(ConfigError):
        RuleExtractor(["food", "bad:name"])  # type: ignore[arg-type]


# ---------------------------------------------------------------- determinism


def test_plans_are_deterministic() -> None:
    conversation = [*REFERENCE[1].values[0], *REFERENCE[3].values[0]]

    def plan_once() -> list[dict[str, object]]:
        context = FakeContext()
        context.add("user", "Lives in Paris", ["personal_details"])
        context.add("user", "Eats meat", ["food_preferences"])
        plan = RuleExtractor().plan(conversation, ["user", "assistant"], context)
        return [op.model_dump() for op in plan.operations]

    assert plan_once() == plan_once()
