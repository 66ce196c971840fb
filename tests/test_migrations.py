"""Migrations: a blank database reaches head; downgrade and upgrade again round-trip."""

from __future__ import annotations

from sqlalchemy import inspect

from tenbin.store import migrate
from tenbin.store.engine import make_engine
from tenbin.store.models import Base


def test_blank_database_migrates_to_the_models_and_back(database_url: str) -> None:
    engine = make_engine(database_url)
    assert migrate.current_revision(engine) is None
    migrate.upgrade(engine)
    head = migrate.current_revision(engine)
    assert head is not None
    tables = set(inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    for table in Base.metadata.tables.values():
        live = {c["name"] for c in inspect(engine).get_columns(table.name)}
        assert live == {c.name for c in table.columns}, table.name
        live_indexes = {i["name"] for i in inspect(engine).get_indexes(table.name)}
        assert {i.name for i in table.indexes} <= live_indexes, table.name
    migrate.downgrade(engine, "base")
    assert not set(Base.metadata.tables) & set(inspect(engine).get_table_names())
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == head
    engine.dispose()
