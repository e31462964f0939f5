"""identity: clerks bound to logins, an administration history, and row security on PostgreSQL

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02

Who acts is no longer whatever `--clerk` says: a clerk is bound to the logins that may act as
them (`clerk_logins`: operating-system logins on SQLite, database roles on PostgreSQL). Before
this revision a clerk acted, by default, under the login of the same name, so each existing
clerk is bound to the login spelled like their name: nobody loses the access they had, and a
supervisor reviews the bindings with `clerks list`.

Changes to units, clerks and logins are kept in `admin_history`, chained by SHA-256.

On PostgreSQL the server itself enforces what the services check: row-level security on cases
and on every table hanging off a case (a unit handler's role reads and writes only the cases
its unit and the units below it lead or help on), events that clerk roles may add to but never
change. The owner role (the one that runs the migrations) is not subject to these policies;
clerk roles are created by `caseworker admin grant` (services.admin).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import caseworker.store.types

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

# Tables whose rows belong to one case (column case_id); events among them.
CASE_TABLES = (
    "case_co_units",
    "replies",
    "ratings",
    "extensions",
    "supervisions",
    "instructions",
    "pauses",
    "case_links",
    "events",
    "case_claims",
)

# The functions the policies call. SECURITY DEFINER: they read clerks, units and co-units as
# the owner, so a policy never recurses into another table's policy. `session_user` is the
# role that logged in (SET ROLE cannot change it).
_FUNCTIONS = """
CREATE OR REPLACE FUNCTION cw_clerk() RETURNS TABLE (name text, role text, unit_id integer)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT c.name, c.role, c.unit_id FROM clerks c
    JOIN clerk_logins l ON l.clerk_id = c.id
    WHERE l.login = session_user AND c.active
$$;

CREATE OR REPLACE FUNCTION cw_sees_all() RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT EXISTS (SELECT 1 FROM cw_clerk() WHERE role IN ('clerk', 'supervisor'))
$$;

CREATE OR REPLACE FUNCTION cw_units() RETURNS integer[]
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    WITH RECURSIVE tree(id) AS (
        SELECT unit_id FROM cw_clerk() WHERE role = 'handler' AND unit_id IS NOT NULL
        UNION
        SELECT u.id FROM units u JOIN tree t ON u.parent_id = t.id
    )
    SELECT coalesce(array_agg(id), '{}') FROM tree
$$;

CREATE OR REPLACE FUNCTION cw_may_see_case(target integer) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT cw_sees_all() OR EXISTS (
        SELECT 1 FROM cases c WHERE c.id = target AND (
            c.lead_unit_id = ANY (cw_units())
            OR EXISTS (
                SELECT 1 FROM case_co_units cu
                WHERE cu.case_id = c.id AND cu.released_at IS NULL
                  AND cu.unit_id = ANY (cw_units())
            )
        )
    )
$$;

-- A handler who returns a case (退回) changes it so that it is no longer theirs, then records
-- the event: they may still write to the case they have just changed.
CREATE OR REPLACE FUNCTION cw_may_write_case(target integer) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT cw_may_see_case(target) OR EXISTS (
        SELECT 1 FROM cases c WHERE c.id = target
          AND c.updated_by IN (SELECT name FROM cw_clerk())
    )
$$;
"""


def _postgres_policies() -> None:
    op.execute(_FUNCTIONS)
    op.execute("ALTER TABLE cases ENABLE ROW LEVEL SECURITY")
    # Read: the cases the clerk may see, and the one they have just changed until somebody
    # else changes it (an UPDATE must read the row it changes, and a return writes the case a
    # second time once it is no longer the unit's).
    op.execute("CREATE POLICY cw_cases_read ON cases FOR SELECT USING (cw_may_write_case(id))")
    # Handlers never create cases; the bureau's clerks do (intake, import).
    op.execute("CREATE POLICY cw_cases_insert ON cases FOR INSERT WITH CHECK (cw_sees_all())")
    # Only a case the clerk may see (or has just changed: a return writes the case twice) can
    # be changed; the change may hand it to another unit.
    op.execute(
        "CREATE POLICY cw_cases_update ON cases FOR UPDATE "
        "USING (cw_may_write_case(id)) WITH CHECK (true)"
    )
    for table in CASE_TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        # Read as the case is: an UPDATE must read the row it changes, and INSERT … RETURNING
        # reads back the row it wrote, so the handler who has just returned a case (its
        # co-units released, its event written after) reads its rows until somebody else
        # changes the case.
        op.execute(
            f"CREATE POLICY cw_{table}_read ON {table} FOR SELECT "
            "USING (cw_may_write_case(case_id))"
        )
        if table == "events":
            # History is appended, in the clerk's own name (or an import's, by the bureau),
            # and never updated or deleted: no such policy, and no such grant either.
            op.execute(
                "CREATE POLICY cw_events_insert ON events FOR INSERT WITH CHECK ("
                "cw_may_write_case(case_id) AND ("
                "actor IN (SELECT name FROM cw_clerk()) "
                "OR (cw_sees_all() AND actor LIKE 'import:%')))"
            )
            continue
        op.execute(
            f"CREATE POLICY cw_{table}_insert ON {table} FOR INSERT "
            "WITH CHECK (cw_may_write_case(case_id))"
        )
        op.execute(
            f"CREATE POLICY cw_{table}_update ON {table} FOR UPDATE "
            "USING (cw_may_write_case(case_id)) WITH CHECK (cw_may_write_case(case_id))"
        )
        op.execute(
            f"CREATE POLICY cw_{table}_delete ON {table} FOR DELETE "
            "USING (cw_may_write_case(case_id))"
        )


def _drop_postgres_policies() -> None:
    for table in ("cases", *CASE_TABLES):
        for kind in ("read", "insert", "update", "delete"):
            op.execute(f"DROP POLICY IF EXISTS cw_{table}_{kind} ON {table}")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
    for function in (
        "cw_may_write_case(integer)",
        "cw_may_see_case(integer)",
        "cw_units()",
        "cw_sees_all()",
        "cw_clerk()",
    ):
        op.execute(f"DROP FUNCTION IF EXISTS {function}")


def upgrade() -> None:
    op.create_table(
        "clerk_logins",
        sa.Column("clerk_id", sa.Integer(), nullable=False),
        sa.Column("login", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(["clerk_id"], ["clerks.id"]),
        sa.PrimaryKeyConstraint("clerk_id", "login"),
    )
    op.create_index("ix_clerk_logins_login", "clerk_logins", ["login"])
    op.create_table(
        "admin_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("before", sa.Text(), nullable=True),
        sa.Column("after", sa.Text(), nullable=True),
        sa.Column("recorded_at", caseworker.store.types.UTCDateTime(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.execute("INSERT INTO clerk_logins (clerk_id, login) SELECT id, name FROM clerks")
    if op.get_bind().dialect.name == "postgresql":
        _postgres_policies()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _drop_postgres_policies()
    op.drop_table("admin_history")
    op.drop_index("ix_clerk_logins_login", table_name="clerk_logins")
    op.drop_table("clerk_logins")
