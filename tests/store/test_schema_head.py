"""The cheap head-revision lookup agrees with Alembic's own reading of the migrations."""

from __future__ import annotations

import itertools
import re

from alembic.script import ScriptDirectory

from caseworker.store.engine import MIGRATIONS, head_revision


def test_head_from_file_names_is_alembics_head() -> None:
    assert head_revision() == ScriptDirectory(str(MIGRATIONS)).get_current_head()


def test_migrations_form_one_numbered_line() -> None:
    script = ScriptDirectory(str(MIGRATIONS))
    revisions = list(script.walk_revisions())  # newest first
    assert len(script.get_heads()) == 1
    for newer, older in itertools.pairwise(revisions):
        assert newer.down_revision == older.revision
    for revision in revisions:
        assert revision.path is not None
        name = revision.path.rsplit("/", 1)[-1]
        assert re.fullmatch(r"\d{4}_\w+\.py", name), name
        assert name.startswith(revision.revision), (name, revision.revision)


def test_migrations_build_exactly_the_tables_the_code_declares(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A model change without its migration (or the reverse) fails here, not at a bureau."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from sqlmodel import SQLModel

    from caseworker.store.engine import open_store

    store = open_store(str(tmp_path / "schema.sqlite"))
    declared = set(SQLModel.metadata.tables)

    def ours(
        obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
    ) -> bool:
        if type_ == "table":
            return name in declared
        table = getattr(obj, "table", None)
        return table is None or table.name in declared

    with store.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"include_object": ours, "compare_type": False}
        )
        diff = compare_metadata(context, SQLModel.metadata)
    store.close()
    assert diff == []
