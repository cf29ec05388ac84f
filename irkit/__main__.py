"""The `irkit` command (`python -m irkit` too).

The collector is off while the command line's modules load: those imports only build what
lives until exit, and collecting among them cost about 2.5 ms of every start here (a
tenth of what `irkit hash` spends before its first file). What they built is then frozen,
out of the collector's sight for the rest of the run: no full collection traverses it, nor
the one at exit (about 6 ms more), and forked hash workers do not copy the pages a
collection would touch.
"""

from __future__ import annotations

import gc
from typing import Any


def run() -> Any:
    gc.disable()
    try:
        from irkit._cli import main
    finally:
        gc.freeze()
        gc.enable()
    return main()


if __name__ == "__main__":
    run()
