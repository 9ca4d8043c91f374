"""The schema is written twice, frozen in the Alembic migration and live in the ORM models: they must agree."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from proteomics.serve.db import Base, open_database

from .conftest import make_settings


def test_migrated_database_matches_the_orm_models(backend):
    engine = open_database(make_settings(*backend))
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
            tables = set(inspect(conn).get_table_names())
    finally:
        engine.dispose()
    assert diff == [], f"the ORM models and the migrations differ: {diff}"
    assert set(Base.metadata.tables) <= tables


def test_shared_column_types_are_applied():
    """One alias each (``Stamp``, ``Sha256``, ``UserRef``…): the columns get the type, the nullability from
    ``| None``, and the foreign key of their alias."""
    cols = Base.metadata.tables["signatures"].columns
    assert str(cols["imported_at"].type) == "VARCHAR(32)" and not cols["imported_at"].nullable
    assert str(cols["approved_at"].type) == "VARCHAR(32)" and cols["approved_at"].nullable
    assert str(cols["sha256"].type) == "VARCHAR(64)" and cols["sha256"].unique
    assert [fk.target_fullname for fk in cols["approved_by"].foreign_keys] == ["users.id"]
    assert cols["approved_by"].nullable and not cols["imported_by"].nullable
    assert str(Base.metadata.tables["results"].columns["collected_on"].type) == "VARCHAR(10)"
