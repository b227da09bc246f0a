"""Nothing is accepted and ignored: every parameter of every public method of ``Memory``
has an observable effect, shown here, through Memory and through AsyncMemory.

``EFFECTS`` maps each (method, parameter) to a check that calls the method with a value
other than the default and sees the result change, or the call refused. The first test
holds the table to the signatures (``inspect``), so a new parameter without a check fails
it; a method's ``**platform_options`` must refuse a keyword it does not know.
"""

from __future__ import annotations

import inspect
import io
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from memkit import AsyncMemory, Memory
from memkit.errors import (
    ConfigError,
    ImmutableMemoryError,
    InvalidInputError,
    MemkitError,
    MemoryNotFoundError,
)
from memkit.testing import SyncView
from memkit.testing.openai_server import ScriptedOpenAI


class Ctx:
    """One check's store (``m``), its directory, and a store with a scripted LLM."""

    def __init__(self, kind: str, tmp: Path) -> None:
        self.kind, self.tmp = kind, tmp
        self._opened: list[Memory] = []
        self._server: ScriptedOpenAI | None = None
        self.m = self.open(tmp / "store")

    def open(self, path: Path, **config: Any) -> Any:
        sync = Memory(path=str(path), config=config or None)
        self._opened.append(sync)
        return sync if self.kind == "sync" else SyncView(AsyncMemory(memory=sync))

    def llm(self) -> tuple[Any, ScriptedOpenAI]:
        self._server = ScriptedOpenAI().__enter__()
        settings = {"model": "m", "base_url": self._server.url, "api_key": "k", "timeout": 2.0}
        llm = self.open(self.tmp / "llm", llm={"provider": "openai", "config": settings})
        return llm, self._server

    def close(self) -> None:
        for memory in self._opened:
            memory.close()
        if self._server is not None:
            self._server.__exit__(None, None, None)


def texts(result: Any) -> list[str]:
    return sorted(x.memory for x in result.results)


Check = Callable[["Ctx"], None]
TENNIS, VEGETARIAN, SAILS = "Plays tennis on Sundays", "Is a vegetarian", "Sails on weekends"


def refused(call: Callable[[], Any], error: type[Exception] = MemkitError) -> None:
    with pytest.raises(error):
        call()


def seed(m: Any) -> list[str]:
    """Three memories of alex (one in run r1, app a1, with metadata and a category)."""
    ids = [
        m.add("Loves hiking in the Alps", user_id="alex", infer=False).results[0].id,
        m.add("Is a vegetarian", user_id="alex", infer=False, categories=["diet"]).results[0].id,
        m.add(
            "Plays tennis on Sundays",
            user_id="alex",
            run_id="r1",
            app_id="a1",
            infer=False,
            metadata={"source": "chat"},
        )
        .results[0]
        .id,
    ]
    m.add("Sails on weekends", agent_id="coach", infer=False)
    return ids


# ---- add ------------------------------------------------------------------------------------

SAID = "I'm a vegetarian and I have a dog named Rex."


def add_messages(c: Ctx) -> None:
    assert texts(c.m.add("I like tea", user_id="a")) != texts(c.m.add("I like coffee", user_id="b"))


def add_id(name: str) -> Callable[[Ctx], None]:
    def check(c: Ctx) -> None:
        (event,) = c.m.add("Likes tea", infer=False, **{name: "x1"}).results
        assert getattr(event, name) == "x1" and getattr(c.m.get(event.id), name) == "x1"

    return check


def add_metadata(c: Ctx) -> None:
    (e,) = c.m.add("Likes tea", user_id="a", infer=False, metadata={"k": 1}).results
    assert c.m.get(e.id).metadata == {"k": 1}


def add_infer(c: Ctx) -> None:
    assert texts(c.m.add("I like tea", user_id="a")) == ["Likes tea"]
    assert texts(c.m.add("I like tea", user_id="b", infer=False)) == ["I like tea"]


def add_categories(c: Ctx) -> None:
    (e,) = c.m.add("I like tea", user_id="a", categories=["drinks"]).results
    assert c.m.get(e.id).categories == ["drinks"]


def add_timestamp(c: Ctx) -> None:
    (e,) = c.m.add("Likes tea", user_id="a", infer=False, timestamp=1_700_000_000).results
    assert c.m.get(e.id).created_at == datetime.fromtimestamp(1_700_000_000, UTC)


def add_includes(c: Ctx) -> None:
    assert texts(c.m.add(SAID, user_id="a", includes="pets")) == ["Has a dog named Rex"]


def add_excludes(c: Ctx) -> None:
    assert texts(c.m.add(SAID, user_id="a", excludes="pets")) == ["Is a vegetarian"]


def add_custom_instructions(c: Ctx) -> None:
    kept = c.m.add(SAID, user_id="a", custom_instructions="Only remember facts about diet.")
    assert texts(kept) == ["Is a vegetarian"]


def add_custom_categories(c: Ctx) -> None:
    c.m.add(SAID, user_id="a", custom_categories={"animals": "Pets"})
    assert {m.memory: m.categories for m in c.m.get_all(user_id="a").results} == {
        "Has a dog named Rex": ["animals"],
        "Is a vegetarian": [],
    }


def add_expiration_date(c: Ctx) -> None:
    c.m.add("Likes tea", user_id="a", infer=False, expiration_date="2020-01-01")
    assert c.m.get_all(user_id="a").count == 0


def add_immutable(c: Ctx) -> None:
    (e,) = c.m.add("Likes tea", user_id="a", infer=False, immutable=True).results
    refused(lambda: c.m.update(e.id, text="Likes coffee"), ImmutableMemoryError)


def add_version(c: Ctx) -> None:
    refused(lambda: c.m.add("Likes tea", user_id="a", version="v9"), InvalidInputError)


def add_output_format(c: Ctx) -> None:
    assert isinstance(c.m.add("Likes tea", user_id="a", infer=False, output_format="v1.0"), list)


def add_async_mode(c: Ctx) -> None:
    refused(lambda: c.m.add("Likes tea", user_id="a", async_mode=True), InvalidInputError)


# ---- search and get_all ---------------------------------------------------------------------


def search_query(c: Ctx) -> None:
    seed(c.m)
    top = [c.m.search(q, user_id="alex").results[0].memory for q in ("tennis", "vegetarian")]
    assert top == ["Plays tennis on Sundays", "Is a vegetarian"]


def search_filters(c: Ctx) -> None:
    seed(c.m)
    assert texts(c.m.search("sport", filters={"run_id": "r1"})) == ["Plays tennis on Sundays"]


def search_top_k(c: Ctx) -> None:
    seed(c.m)
    assert len(c.m.search("sport", user_id="alex", top_k=1).results) == 1


def search_threshold(c: Ctx) -> None:
    seed(c.m)
    assert c.m.search("sport", user_id="alex", threshold=0.99).results == []


def search_id(name: str, value: str, expected: list[str]) -> Callable[[Ctx], None]:
    def check(c: Ctx) -> None:
        seed(c.m)
        assert texts(c.m.search("sport", **{name: value})) == expected

    return check


def search_fields(c: Ctx) -> None:
    seed(c.m)
    assert set(c.m.search("sport", user_id="alex", fields=["memory"]).results[0]) == {"memory"}


def search_keyword_search(c: Ctx) -> None:
    seed(c.m)
    assert texts(c.m.search("tennis", user_id="alex", keyword_search=True)) == [
        "Plays tennis on Sundays"
    ]


def search_rerank(c: Ctx) -> None:
    seed(c.m)
    default = [h.score for h in c.m.search("tennis", user_id="alex").results]
    assert [h.score for h in c.m.search("tennis", user_id="alex", rerank=False).results] != default


def search_limit(c: Ctx) -> None:
    seed(c.m)
    assert len(c.m.search("sport", user_id="alex", limit=2).results) == 2


def search_version(c: Ctx) -> None:
    refused(lambda: c.m.search("sport", version="v9"), InvalidInputError)


def search_output_format(c: Ctx) -> None:
    seed(c.m)
    assert isinstance(c.m.search("sport", user_id="alex", output_format="v1.0"), list)


def get_all_option(expected: Any, **option: Any) -> Callable[[Ctx], None]:
    def check(c: Ctx) -> None:
        seed(c.m)
        assert c.m.get_all().count == 4
        result = c.m.get_all(**option)
        shown = result if isinstance(expected, type) else texts(result)
        assert isinstance(shown, expected) if isinstance(expected, type) else shown == expected

    return check


def get_all_fields(c: Ctx) -> None:
    seed(c.m)
    assert set(c.m.get_all(fields=["id"]).results[0]) == {"id"}


def get_all_version(c: Ctx) -> None:
    refused(lambda: c.m.get_all(version="v9"), InvalidInputError)


# ---- by id, updates and deletes ------------------------------------------------------------


def get_memory_id(c: Ctx) -> None:
    a, b, _ = seed(c.m)
    assert c.m.get(a).memory != c.m.get(b).memory


def history_memory_id(c: Ctx) -> None:
    a, b, _ = seed(c.m)
    c.m.update(a, text="Loves hiking in Norway")
    assert len(c.m.history(a)) == 2 and len(c.m.history(b)) == 1


def update_memory_id(c: Ctx) -> None:
    a, b, _ = seed(c.m)
    c.m.update(a, text="Loves hiking in Norway")
    assert c.m.get(b).memory == "Is a vegetarian"


def update_text(c: Ctx) -> None:
    a, *_ = seed(c.m)
    assert c.m.update(a, text="Loves hiking in Norway").memory == "Loves hiking in Norway"


def update_metadata(c: Ctx) -> None:
    a, *_ = seed(c.m)
    assert c.m.update(a, metadata={"k": "v"}).metadata == {"k": "v"}


def update_data(c: Ctx) -> None:
    a, *_ = seed(c.m)
    assert c.m.update(a, data="Loves hiking in Norway").memory == "Loves hiking in Norway"


def update_expiration_date(c: Ctx) -> None:
    a, *_ = seed(c.m)
    c.m.update(a, expiration_date="2020-01-01")
    assert c.m.get_all(user_id="alex").count == 2


def batch_update_memories(c: Ctx) -> None:
    a, b, _ = seed(c.m)
    c.m.batch_update([{"memory_id": a, "text": "Hikes"}, {"memory_id": b, "text": "Is vegan"}])
    assert [c.m.get(i).memory for i in (a, b)] == ["Hikes", "Is vegan"]


def delete_memory_id(c: Ctx) -> None:
    a, b, _ = seed(c.m)
    c.m.delete(a)
    refused(lambda: c.m.get(a), MemoryNotFoundError)
    assert c.m.get(b).memory == "Is a vegetarian"


def batch_delete_memories(c: Ctx) -> None:
    a, b, _ = seed(c.m)
    assert c.m.batch_delete([{"memory_id": a}, {"memory_id": b}]).count == 2
    assert texts(c.m.get_all(user_id="alex")) == ["Plays tennis on Sundays"]


def delete_by(method: str, name: str, value: str, left: int) -> Callable[[Ctx], None]:
    def check(c: Ctx) -> None:
        seed(c.m)
        getattr(c.m, method)(**{name: value})
        assert c.m.get_all().count == left

    return check


def delete_all_filters(c: Ctx) -> None:
    seed(c.m)
    assert c.m.delete_all(filters={"AND": [{"user_id": "alex"}, {"run_id": "r1"}]}).count == 1
    assert c.m.get_all().count == 3


# ---- transcripts, monitoring, health, replay ------------------------------------------------

HELLO = [{"role": "user", "content": "hello"}, {"role": "assistant", "content": "hi"}]


def append_messages_session_id(c: Ctx) -> None:
    c.m.append_messages("s1", HELLO)
    assert c.m.get_messages("s2") == [] and len(c.m.get_messages("s1")) == 2


def append_messages_messages(c: Ctx) -> None:
    c.m.append_messages("s1", HELLO[:1])
    assert [x.content for x in c.m.get_messages("s1")] == ["hello"]


def get_messages_last(c: Ctx) -> None:
    c.m.append_messages("s1", HELLO)
    assert [x.content for x in c.m.get_messages("s1", last=1)] == ["hi"]


def clear_messages_session_id(c: Ctx) -> None:
    c.m.append_messages("s1", HELLO)
    c.m.append_messages("s2", HELLO)
    c.m.clear_messages("s1")
    assert c.m.get_messages("s1") == [] and len(c.m.get_messages("s2")) == 2


def activity_limit(c: Ctx) -> None:
    seed(c.m)
    assert len(c.m.activity(limit=2)) == 2 and len(c.m.activity()) > 2
    for bad in (0, -1, 10_001, True, "5", 2.0):
        with pytest.raises(InvalidInputError, match="limit"):
            c.m.activity(limit=bad)


def activity_kind(c: Ctx) -> None:
    seed(c.m)
    c.m.get_all()
    assert {a["kind"] for a in c.m.activity(kind="get_all")} == {"get_all"}
    with pytest.raises(InvalidInputError, match="kind"):
        c.m.activity(kind=["add"])


def check_repair(c: Ctx) -> None:
    a, *_ = seed(c.m)
    backend = c.m.sync.backend if hasattr(c.m, "sync") else c.m.backend
    backend.sync_index()
    backend.index.delete([a])  # the index loses a memory the record store holds
    assert not c.m.check(repair=False).healthy
    assert c.m.check().repaired.upserted == 1 and c.m.check(repair=False).healthy


def replay_pending_id(c: Ctx) -> None:
    refused(lambda: c.m.replay("no-such-add"), InvalidInputError)


# ---- export, import and the structured export -----------------------------------------------


def export_destination(c: Ctx) -> None:
    seed(c.m)
    path = c.tmp / "out.jsonl"
    c.m.export(str(path))
    assert len(path.read_text().splitlines()) == 5  # a header and four memories


def export_scope(**scope: Any) -> Callable[[Ctx], None]:
    def check(c: Ctx) -> None:
        seed(c.m)
        assert c.m.export(io.StringIO()).count == 4
        assert c.m.export(io.StringIO(), **scope).count < 4

    return check


def export_embeddings(c: Ctx) -> None:
    seed(c.m)
    with_vectors, without = io.StringIO(), io.StringIO()
    c.m.export(with_vectors)
    c.m.export(without, embeddings=False)
    assert len(without.getvalue()) < len(with_vectors.getvalue())


def import_source(c: Ctx) -> None:
    seed(c.m)
    out = io.StringIO()
    c.m.export(out, user_id="alex")
    other = c.open(c.tmp / "other")
    assert other.import_(io.StringIO(out.getvalue())).added == 3


def import_on_conflict(c: Ctx) -> None:
    a, *_ = seed(c.m)
    out = io.StringIO()
    c.m.export(out)
    c.m.update(a, text="Loves hiking in Norway")
    refused(lambda: c.m.import_(io.StringIO(out.getvalue()), on_conflict="error"))
    assert c.m.import_(io.StringIO(out.getvalue()), on_conflict="replace").replaced == 1


class Profile(BaseModel):
    sport: str | None = None


def structured(c: Ctx, **options: Any) -> str:
    """The prompt of a create_memory_export with ``options`` (seeded store, scripted LLM)."""
    llm, server = c.llm()
    seed(llm)
    server.reply({"sport": "tennis"}, {"sport": "tennis"})
    llm.create_memory_export(Profile, **options)
    return " ".join(str(x["content"]) for x in server.chat_requests[-1].messages)


def create_memory_export_schema(c: Ctx) -> None:
    refused(lambda: c.m.create_memory_export(Profile, user_id="alex"), ConfigError)  # no LLM
    llm, server = c.llm()
    server.reply({"sport": "tennis"})
    llm.create_memory_export(Profile, user_id="alex")
    schema = server.chat_requests[-1].body["response_format"]["json_schema"]["schema"]
    assert schema == Profile.model_json_schema()


def create_memory_export_export_instructions(c: Ctx) -> None:
    prompt = structured(c, user_id="alex", export_instructions="Answer in French.")
    assert "Answer in French." in prompt


def create_memory_export_scope(name: str, value: Any, seen: str, unseen: str) -> Check:
    def check(c: Ctx) -> None:
        prompt = structured(c, **{name: value})
        assert seen in prompt and unseen not in prompt

    return check


JOB = object()  # stands for the id create_memory_export returned


def memory_export_then(create: dict[str, Any], lookup: dict[str, Any]) -> Check:
    def check(c: Ctx) -> None:
        llm, server = c.llm()
        seed(llm)
        server.reply({"sport": "tennis"})
        job = llm.create_memory_export(Profile, **create)
        found = {k: job.id if v is JOB else v for k, v in lookup.items()}
        assert llm.get_memory_export(**found) == {"sport": "tennis"}
        refused(lambda: llm.get_memory_export(user_id="sam"), InvalidInputError)

    return check


EFFECTS: dict[tuple[str, str], Callable[[Ctx], None]] = {
    ("add", "messages"): add_messages,
    **{("add", name): add_id(name) for name in ("user_id", "agent_id", "app_id", "run_id")},
    ("add", "metadata"): add_metadata,
    ("add", "infer"): add_infer,
    ("add", "categories"): add_categories,
    ("add", "timestamp"): add_timestamp,
    ("add", "includes"): add_includes,
    ("add", "excludes"): add_excludes,
    ("add", "custom_instructions"): add_custom_instructions,
    ("add", "custom_categories"): add_custom_categories,
    ("add", "expiration_date"): add_expiration_date,
    ("add", "immutable"): add_immutable,
    ("add", "version"): add_version,
    ("add", "output_format"): add_output_format,
    ("add", "async_mode"): add_async_mode,
    ("search", "query"): search_query,
    ("search", "filters"): search_filters,
    ("search", "top_k"): search_top_k,
    ("search", "threshold"): search_threshold,
    ("search", "user_id"): search_id(
        "user_id",
        "alex",
        ["Is a vegetarian", "Loves hiking in the Alps", "Plays tennis on Sundays"],
    ),
    ("search", "agent_id"): search_id("agent_id", "coach", ["Sails on weekends"]),
    ("search", "app_id"): search_id("app_id", "a1", ["Plays tennis on Sundays"]),
    ("search", "run_id"): search_id("run_id", "r1", ["Plays tennis on Sundays"]),
    ("search", "fields"): search_fields,
    ("search", "keyword_search"): search_keyword_search,
    ("search", "rerank"): search_rerank,
    ("search", "limit"): search_limit,
    ("search", "version"): search_version,
    ("search", "output_format"): search_output_format,
    ("get_all", "filters"): get_all_option(["Sails on weekends"], filters={"agent_id": "coach"}),
    ("get_all", "user_id"): get_all_option(
        ["Is a vegetarian", "Loves hiking in the Alps", "Plays tennis on Sundays"], user_id="alex"
    ),
    ("get_all", "agent_id"): get_all_option(["Sails on weekends"], agent_id="coach"),
    ("get_all", "app_id"): get_all_option(["Plays tennis on Sundays"], app_id="a1"),
    ("get_all", "run_id"): get_all_option(["Plays tennis on Sundays"], run_id="r1"),
    ("get_all", "categories"): get_all_option(["Is a vegetarian"], categories=["diet"]),
    ("get_all", "keywords"): get_all_option(["Plays tennis on Sundays"], keywords="TENNIS"),
    ("get_all", "page"): get_all_option(["Loves hiking in the Alps"], page=4, page_size=1),
    ("get_all", "page_size"): get_all_option(["Sails on weekends"], page_size=1),
    ("get_all", "fields"): get_all_fields,
    ("get_all", "version"): get_all_version,
    ("get_all", "output_format"): get_all_option(list, output_format="v1.0"),
    ("get", "memory_id"): get_memory_id,
    ("history", "memory_id"): history_memory_id,
    ("update", "memory_id"): update_memory_id,
    ("update", "text"): update_text,
    ("update", "metadata"): update_metadata,
    ("update", "data"): update_data,
    ("update", "expiration_date"): update_expiration_date,
    ("batch_update", "memories"): batch_update_memories,
    ("delete", "memory_id"): delete_memory_id,
    ("batch_delete", "memories"): batch_delete_memories,
    ("delete_all", "user_id"): delete_by("delete_all", "user_id", "alex", 1),
    ("delete_all", "agent_id"): delete_by("delete_all", "agent_id", "coach", 3),
    ("delete_all", "app_id"): delete_by("delete_all", "app_id", "a1", 3),
    ("delete_all", "run_id"): delete_by("delete_all", "run_id", "r1", 3),
    ("delete_all", "filters"): delete_all_filters,
    ("delete_users", "user_id"): delete_by("delete_users", "user_id", "alex", 1),
    ("delete_users", "agent_id"): delete_by("delete_users", "agent_id", "coach", 3),
    ("delete_users", "app_id"): delete_by("delete_users", "app_id", "a1", 3),
    ("delete_users", "run_id"): delete_by("delete_users", "run_id", "r1", 3),
    ("append_messages", "session_id"): append_messages_session_id,
    ("append_messages", "messages"): append_messages_messages,
    ("get_messages", "session_id"): append_messages_session_id,
    ("get_messages", "last"): get_messages_last,
    ("clear_messages", "session_id"): clear_messages_session_id,
    ("activity", "limit"): activity_limit,
    ("activity", "kind"): activity_kind,
    ("check", "repair"): check_repair,
    ("replay", "pending_id"): replay_pending_id,
    ("export", "destination"): export_destination,
    ("export", "filters"): export_scope(filters={"run_id": "r1"}),
    ("export", "user_id"): export_scope(user_id="alex"),
    ("export", "agent_id"): export_scope(agent_id="coach"),
    ("export", "app_id"): export_scope(app_id="a1"),
    ("export", "run_id"): export_scope(run_id="r1"),
    ("export", "embeddings"): export_embeddings,
    ("import_", "source"): import_source,
    ("import_", "on_conflict"): import_on_conflict,
    ("create_memory_export", "schema"): create_memory_export_schema,
    ("create_memory_export", "filters"): create_memory_export_scope(
        "filters", {"run_id": "r1"}, TENNIS, VEGETARIAN
    ),
    ("create_memory_export", "export_instructions"): create_memory_export_export_instructions,
    ("create_memory_export", "user_id"): create_memory_export_scope(
        "user_id", "alex", VEGETARIAN, SAILS
    ),
    ("create_memory_export", "agent_id"): create_memory_export_scope(
        "agent_id", "coach", SAILS, VEGETARIAN
    ),
    ("create_memory_export", "app_id"): create_memory_export_scope(
        "app_id", "a1", TENNIS, VEGETARIAN
    ),
    ("create_memory_export", "run_id"): create_memory_export_scope(
        "run_id", "r1", TENNIS, VEGETARIAN
    ),
    ("get_memory_export", "memory_export_id"): memory_export_then(
        {"user_id": "alex"}, {"memory_export_id": JOB}
    ),
    **{
        ("get_memory_export", name): memory_export_then({name: value}, {name: value})
        for name, value in (
            ("filters", {"run_id": "r1"}),
            ("user_id", "alex"),
            ("agent_id", "coach"),
            ("app_id", "a1"),
            ("run_id", "r1"),
        )
    },
}


def signature_parameters() -> set[tuple[str, str]]:
    """Every named parameter of every public method of Memory (``**options`` aside)."""
    found = set()
    for name, method in inspect.getmembers(Memory, callable):
        if name.startswith("_") or name in {"from_config", "close"}:
            continue
        for parameter in list(inspect.signature(method).parameters.values())[1:]:
            if parameter.kind is not inspect.Parameter.VAR_KEYWORD:
                found.add((name, parameter.name))
    return found


def test_the_table_covers_every_parameter_of_every_public_method():
    missing = signature_parameters() - set(EFFECTS)
    assert not missing, f"parameters without a check of their effect: {sorted(missing)}"
    assert not set(EFFECTS) - signature_parameters(), "checks of parameters that are gone"


@pytest.fixture(params=["sync", "async"])
def ctx(request, tmp_path) -> Iterator[Ctx]:
    context = Ctx(request.param, tmp_path)
    yield context
    context.close()


@pytest.mark.parametrize(("method", "parameter"), sorted(EFFECTS))
def test_each_parameter_has_an_effect(ctx, method, parameter):
    EFFECTS[(method, parameter)](ctx)


@pytest.mark.parametrize(
    "method",
    sorted(
        name
        for name, method in inspect.getmembers(Memory, callable)
        if not name.startswith("_")
        and any(
            p.kind is inspect.Parameter.VAR_KEYWORD
            for p in inspect.signature(method).parameters.values()
        )
    ),
)
def test_a_keyword_no_method_knows_is_refused(ctx, method):
    args = {"add": ("Likes tea",), "search": ("tea",), "create_memory_export": (Profile,)}
    with pytest.raises(InvalidInputError, match="unexpected keyword"):
        getattr(ctx.m, method)(*args.get(method, ()), user_id="alex", bogus=json.dumps(1))


# Parameters of the reference document's own calls (DESIGN.md), not platform extras.
CORE = {"messages", "query", "user_id", "agent_id", "app_id", "run_id", "infer", "categories"}
CORE |= {"timestamp", "top_k", "keywords", "page", "page_size"}


def test_the_readme_lists_every_platform_option_of_add_search_and_get_all():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Platform options\n", 1)[1].split("\n## ", 1)[0]
    options = {p for m, p in signature_parameters() if m in {"add", "search", "get_all"}}
    missing = [
        p for p in sorted(options - CORE) if f"{p}=" not in section and f"`{p}`" not in section
    ]
    assert not missing, f"README 'Platform options' lacks {missing}"
