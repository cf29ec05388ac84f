"""Errors the library raises; the CLI maps them to one line and an exit code."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_USAGE = 2
EXIT_BUG = 3  # an unexpected exception: a bug in irkit, never a finding


class IrkitError(Exception):
    """Base for every expected failure: carries a user-facing message and an exit code."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def diagnostics(self, escape: Callable[[str], str] | None = None) -> str:
        """The text shown to the user: the message, then a hint when there is one, each on
        one line. `escape` (the CLI's `safe`) makes each part inert for a terminal; it must
        turn a newline into a visible escape, so only the line between them is a newline."""
        show = escape or (lambda text: text)
        if self.hint:
            return f"{show(self.message)}\nhint: {show(self.hint)}"
        return show(self.message)


class InputError(IrkitError):
    """Bad arguments or unreadable/malformed input (exit 2)."""


class KeyFileError(InputError):
    """A key is missing, unreadable, malformed or locked with another passphrase."""


class CaseNotFoundError(InputError):
    """No case folder where one was expected."""


class CaseExistsError(InputError):
    """`init` on a folder that already holds a case."""


class NotAuthorizedError(InputError):
    """The signing key may not write this entry (not a member, or lacks the role)."""


class JournalError(InputError):
    """The journal cannot be appended to or read as asked (e.g. a torn last line)."""


class TornTailError(JournalError):
    """The last journal line is incomplete: a crash mid-write. `irkit repair` handles it."""


class EnvironmentFailure(InputError):
    """This machine failed, not the thing under test (scratch disk full, quota, read-only,
    out of descriptors or memory, a tool not installed): exit 2, never recorded as a verdict."""


class ProblemsFound(IrkitError):
    """A check ran and found problems (exit 1)."""

    exit_code = EXIT_PROBLEMS
