"""Fixtures of the console tests (the data itself lives in console_data.py)."""

from console_data import console, console_template

__all__ = ["console", "console_template"]
