"""Linux C library calls that Python does not wrap (syncfs, sync_file_range, mallopt).

Found with dlopen(NULL), the libraries the process already has loaded:
ctypes.util.find_library would run `ldconfig -p` in a subprocess on every call, a few
milliseconds of every command that uses one of these.
"""

from __future__ import annotations

import functools
from typing import Any


@functools.cache
def function(name: str) -> Any:
    """The C library's function `name`, or None where it does not exist (not Linux, musl
    without mallopt, an old kernel's libc without syncfs)."""
    import ctypes

    try:
        return getattr(ctypes.CDLL(None, use_errno=True), name)
    except (OSError, AttributeError, TypeError):
        return None
