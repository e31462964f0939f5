"""Allow `python -m caseworker`."""

from caseworker.cli import main

main()
