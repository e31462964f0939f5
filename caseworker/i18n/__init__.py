"""The console's message catalogs (zh, en): every user-facing string comes from here."""
