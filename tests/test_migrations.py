"""The schema evolves by frozen, numbered migrations: a store upgraded one release at a time
ends up with the tables a new store gets, and those are the tables ``schema.py`` defines.
On SQLite and on PostgreSQL."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import Column, Engine, MetaData, Text, create_engine, inspect, text

from memkit.store import _schema as schema
from memkit.store._migrations import MIGRATIONS, migrate, statements
from memkit.store._records import RecordStore

NewDatabase = Callable[[], Engine]


@pytest.fixture(params=["sqlite", "postgresql"])
def new_database(request, tmp_path) -> Iterator[NewDatabase]:
    """Makes an empty database each call (the previous one is disposed of and, on
    PostgreSQL, emptied: take what you need from it first)."""
    engines: list[Engine] = []
    if request.param == "sqlite":
        urls = (f"sqlite:///{tmp_path / f'db{n}.sqlite'}" for n in range(100))
    else:
        url = request.getfixturevalue("postgres_url")
        urls = (url for _ in range(100))

    def make() -> Engine:
        for old in engines:
            old.dispose()
        engine = create_engine(next(urls))
        if engine.dialect.name == "postgresql":
            with engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        engine.dispose()


def shape(engine: Engine) -> dict[str, Any]:
    """Every table's columns (type, nullability, default, autoincrement), primary key,
    indexes, unique constraints and foreign keys, as the database reports them."""
    inspector = inspect(engine)
    tables: dict[str, Any] = {}
    for name in sorted(inspector.get_table_names()):
        tables[name] = {
            "columns": [
                (
                    c["name"],
                    str(c["type"]),
                    c["nullable"],
                    c.get("default"),
                    c.get("autoincrement"),
                )
                for c in inspector.get_columns(name)
            ],
            "primary_key": inspector.get_pk_constraint(name),
            "indexes": sorted(
                (i["name"], tuple(i["column_names"]), bool(i["unique"]))
                for i in inspector.get_indexes(name)
            ),
            "unique": sorted(
                (u["name"] or "", tuple(u["column_names"]))
                for u in inspector.get_unique_constraints(name)
            ),
            "foreign_keys": inspector.get_foreign_keys(name),
        }
    return tables


MEMORY_ROW = {
    "id": "m1",
    "memory": "Owns a cat",
    "hash": "h",
    "user_id": "u",
    "metadata": "{}",
    "categories": "[]",
    "embedding": b"\x00\x00\x80?",
    "created_at": 1.0,
    "updated_at": 1.0,
}


def test_a_store_upgraded_release_by_release_equals_a_new_one(new_database):
    old = new_database()
    # Each release of memkit opened the store with the migrations it knew, one more each time.
    for known in range(1, len(MIGRATIONS) + 1):
        with old.begin() as conn:
            assert migrate(conn, MIGRATIONS[:known]) == [MIGRATIONS[known - 1].version]
            if known == 1:
                conn.execute(schema.memories.insert().values(**MEMORY_ROW))
    with old.begin() as conn:
        assert migrate(conn) == []
        kept = conn.execute(schema.memories.select()).mappings().all()
        assert [dict(row) for row in kept] == [
            {
                **MEMORY_ROW,
                "agent_id": None,
                "app_id": None,
                "run_id": None,
                "immutable": None,
                "expiration_date": None,
            }
        ]
        versions = conn.execute(text("SELECT version FROM schema_migrations ORDER BY version"))
        assert list(versions.scalars()) == [m.version for m in MIGRATIONS]
    upgraded = shape(old)

    new = new_database()
    with new.begin() as conn:
        assert migrate(conn) == [m.version for m in MIGRATIONS]
    assert shape(new) == upgraded
    assert set(upgraded) == set(schema.metadata_obj.tables)


def test_schema_py_defines_what_the_migrations_make(new_database):
    """An edit of ``schema.py`` without a migration that makes it fails here."""
    migrated = new_database()
    with migrated.begin() as conn:
        migrate(conn)
    expected = shape(migrated)
    declared = new_database()
    schema.metadata_obj.create_all(declared)
    assert shape(declared) == expected


def test_the_comparison_sees_a_column_schema_py_would_add(tmp_path):
    """The check above is not vacuous: a column added to ``schema.py`` alone is a difference."""
    migrated = create_engine(f"sqlite:///{tmp_path / 'migrated.sqlite'}")
    with migrated.begin() as conn:
        migrate(conn)
    edited = MetaData()
    for table in schema.metadata_obj.tables.values():
        table.to_metadata(edited)
    edited.tables["memories"].append_column(Column("source", Text))
    declared = create_engine(f"sqlite:///{tmp_path / 'declared.sqlite'}")
    edited.create_all(declared)
    assert shape(declared) != shape(migrated)
    assert shape(declared)["memories"]["columns"][-1][0] == "source"
    migrated.dispose()
    declared.dispose()


def test_an_older_store_is_upgraded_when_opened_and_keeps_its_memories(new_database):
    old = new_database()
    with old.begin() as conn:
        migrate(conn, MIGRATIONS[:1])
        conn.execute(schema.memories.insert().values(**MEMORY_ROW))
    url = old.url.render_as_string(hide_password=False)
    old.dispose()
    store = RecordStore(url)
    try:
        assert list(store.get_many(["m1"])) == ["m1"]
        assert store.pending.list() == []
        assert store.quarantine.ids() == set()
    finally:
        store.close()
    check = create_engine(url)
    with check.connect() as conn:
        versions = conn.execute(text("SELECT version FROM schema_migrations ORDER BY version"))
        assert list(versions.scalars()) == [m.version for m in MIGRATIONS]
    check.dispose()


# sha256 of each released migration's name and DDL as each database runs it. A released
# migration is never edited (old stores ran the old text): change the schema with a new one.
RELEASED = {
    1: "aeae51306b8a95dde5afb2d3d4715163608c09e9ce168c99e292caefe35e75b5",
    2: "91c6e5a1e0cfe11dc3c5a766a16df8e4feb34a8d8dded935be8828c7beb38315",
    3: "c32c2dbab8f01dee6317be6b02b489a04f0c4df955cdd6eb0073a206b53aaf3a",
    4: "295ef22e530819976f367985325993f0364a8f1530303f23f129b9b18878d553",
    5: "ac2681ff5d6c1f2628f3aebd3a17fca6b7623abd3f00f6925641110c123ea570",
    6: "5d4c130fc7766f27f555157dcbc9c94f939e5d3022c8eb7254399b746ad0c08b",
}


def _digest(version: int) -> str:
    migration = next(m for m in MIGRATIONS if m.version == version)
    spelled = [*statements(migration.ddl, "sqlite"), *statements(migration.ddl, "postgresql")]
    return hashlib.sha256("\n;\n".join([migration.name, *spelled]).encode()).hexdigest()


def test_released_migrations_are_never_edited():
    assert [m.version for m in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))
    assert {version: _digest(version) for version in RELEASED} == RELEASED


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_each_database_gets_its_own_spelling(dialect):
    spelled = statements(MIGRATIONS[0].ddl, dialect)
    assert not any("{" in statement for statement in spelled)
    memories = spelled[0]
    assert ("BYTEA" if dialect == "postgresql" else "BLOB") in memories
    with pytest.raises(ValueError, match="mysql"):
        statements(MIGRATIONS[0].ddl, "mysql")
