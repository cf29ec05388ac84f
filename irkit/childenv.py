"""The environment of every program irkit starts: the caller's, minus irkit's own secrets.

A restore tool, a spec's `[[command]]` check or a PostgreSQL step is someone else's code,
and what it prints is stored in the case; a passphrase in its environment ends up there
(or in its logs). The rule: drop `IRKIT_PASSPHRASE` and every `IRKIT_*` variable whose name
says it holds a secret (PASSPHRASE, PASSWORD, SECRET, TOKEN, PRIVATE); keep everything else,
including the tool's own credentials (RESTIC_PASSWORD, BORG_PASSPHRASE, AWS_*): a restore
tool may need them, and irkit neither reads nor owns them.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping

_SECRET_WORDS = ("PASSPHRASE", "PASSWORD", "SECRET", "TOKEN", "PRIVATE")


def is_irkit_secret(name: str) -> bool:
    """True for an environment variable that holds one of irkit's own secrets."""
    upper = name.upper()
    return upper.startswith("IRKIT_") and any(word in upper for word in _SECRET_WORDS)


def child_env(
    overrides: Mapping[str, str] | None = None, *, inherit: bool = True
) -> dict[str, str]:
    """The environment for a child process: os.environ (unless `inherit` is False) with
    OVERRIDES on top, and never one of irkit's secrets, whichever side brought it."""
    base: dict[str, str] = dict(os.environ) if inherit else {}
    base.update(overrides or {})
    return {k: v for k, v in base.items() if not is_irkit_secret(k)}


@contextlib.contextmanager
def secrets_hidden() -> Iterator[None]:
    """For a child started by code that takes no `env` (click.edit runs $EDITOR with
    os.environ plus additions): irkit's secrets leave os.environ meanwhile, then return."""
    taken = {k: os.environ.pop(k) for k in list(os.environ) if is_irkit_secret(k)}
    try:
        yield
    finally:
        os.environ.update(taken)
