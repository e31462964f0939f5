"""The second process of a large import: reads the file and prepares its rows.

Started by services.imports.prepare for the runner, with the job pickled on stdin; writes the
prepared batches as pickles on stdout, which nothing else in this process may use.
"""

from __future__ import annotations

import os
import pickle
import sys

from caseworker.services.imports.prepare import prepare_file


def main() -> int:
    path, fmt, encoding, preparer, size = pickle.load(sys.stdin.buffer)
    out = sys.stdout.buffer
    sys.stdout = sys.stderr  # the pipe carries batches only
    try:
        prepare_file(out, path, fmt, encoding, preparer, size)
    except KeyboardInterrupt:  # Ctrl-C reached the whole import; the writer records it
        return 130
    except BrokenPipeError:
        # The writer is gone; point stdout at nothing so exiting does not complain.
        os.dup2(os.open(os.devnull, os.O_WRONLY), out.fileno())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
