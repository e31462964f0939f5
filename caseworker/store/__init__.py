"""The case store: SQLModel tables, the engine with its migrations, and the queries."""
