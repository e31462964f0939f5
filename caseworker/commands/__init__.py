"""Typer command groups; each imports its services lazily so `--help` and reports start fast."""
