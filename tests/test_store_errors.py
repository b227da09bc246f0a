"""The record store's errors say what failed and how to fix it: a missing PostgreSQL
driver names the extra to install; a failed SQL statement is a RecordStoreError, which
code written for its old name, HistoryError, still catches."""

from __future__ import annotations

import sqlite3
import sys

import pytest

import memkit
from memkit import Memory
from memkit.errors import ConfigError, MemkitRuntimeError, MissingDependencyError, RecordStoreError
from memkit.testing import HashEmbedder


@pytest.mark.parametrize(
    "url", ["postgresql://user@localhost/memkit", "postgresql+psycopg://user@localhost/memkit"]
)
def test_a_missing_postgresql_driver_names_the_server_extra(url, monkeypatch):
    monkeypatch.setitem(sys.modules, "psycopg", None)  # `import psycopg` now fails
    with pytest.raises(ImportError, match=r"pip install 'memkit\[server\]'") as caught:
        Memory(config={"record_store": {"url": url}}, embedder=HashEmbedder())
    assert isinstance(caught.value, MissingDependencyError)
    assert isinstance(caught.value, ConfigError)  # what the configuration chose is missing
    assert str(caught.value).startswith("record_store.url: PostgreSQL needs the psycopg driver")
    monkeypatch.undo()
    # Nothing was left locked: the same home opens.
    Memory(embedder=HashEmbedder()).close()


def test_another_missing_driver_is_named_with_the_supported_one(monkeypatch):
    monkeypatch.setitem(sys.modules, "psycopg2", None)
    url = "postgresql+psycopg2://user@localhost/memkit"
    with pytest.raises(
        MissingDependencyError, match=r"record_store\.url: .*'postgresql\+psycopg2'"
    ):
        Memory(config={"record_store": {"url": url}}, embedder=HashEmbedder())


def test_a_failed_statement_is_a_record_store_error(memkit_home):
    memory = Memory(embedder=HashEmbedder())
    memory.add("Owns a cat", user_id="u", infer=False)
    with sqlite3.connect(memkit_home / "memkit.db") as db:
        db.execute("DROP TABLE history")
    with pytest.raises(RecordStoreError, match=r"record store failed: .*history"):
        memory.add("Plays chess", user_id="u", infer=False)
    assert [m.memory for m in memory.get_all(user_id="u").results] == ["Owns a cat"]
    memory.close()


def test_record_store_error_is_a_public_runtime_error():
    assert memkit.RecordStoreError is RecordStoreError
    assert issubclass(RecordStoreError, MemkitRuntimeError)
    assert not issubclass(RecordStoreError, ValueError)


def test_history_error_is_a_deprecated_name_that_still_catches(memkit_home):
    with pytest.warns(DeprecationWarning, match="HistoryError is deprecated"):
        from memkit.errors import HistoryError
    assert HistoryError is RecordStoreError
    memory = Memory(embedder=HashEmbedder())
    with sqlite3.connect(memkit_home / "memkit.db") as db:
        db.execute("DROP TABLE memories")
    with pytest.raises(HistoryError):
        memory.get_all(user_id="u")
    memory.close()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_processes_opening_one_store_set_a_store_value_together(request, tmp_path, backend):
    """set_meta is one upsert: writers setting the same key at once all succeed (a
    delete-then-insert raced on PostgreSQL when server workers opened one store together)."""
    import threading

    from memkit.store._records import RecordStore

    url = (
        request.getfixturevalue("postgres_url")
        if backend == "postgres"
        else f"sqlite:///{tmp_path / 'meta.db'}"
    )
    stores = [RecordStore(url) for _ in range(4)]
    errors: list[BaseException] = []
    start = threading.Barrier(len(stores))

    def set_it(records: RecordStore, value: str) -> None:
        start.wait()
        try:
            for _ in range(50):
                records.set_meta("index_keys_checked", value)
        except BaseException as exc:
            errors.append(exc)

    threads = [
        threading.Thread(target=set_it, args=(records, str(i))) for i, records in enumerate(stores)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert stores[0].get_meta("index_keys_checked") in {"0", "1", "2", "3"}
    for records in stores:
        records.close()
