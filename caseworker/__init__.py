"""caseworker: a terminal console for bureaus that answer citizens' online messages."""

__version__ = "0.1.0"
