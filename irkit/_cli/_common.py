"""Options and output helpers shared by the commands; the one place errors meet the user."""

from __future__ import annotations

import contextlib
import functools
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import IO, TYPE_CHECKING, Any, TypeVar

import click

from irkit.errors import EXIT_BUG, EXIT_PROBLEMS, EXIT_USAGE, InputError, IrkitError

if TYPE_CHECKING:
    from pathlib import Path

    from irkit.formats.ed25519 import Signer
    from irkit.record.case import Case
    from irkit.record.entry import Entry
    from irkit.record.journal import TornTail
# pathlib and json are imported where used: `irkit hash` needs neither, and every
# millisecond of start-up counts against the tools it is compared with.

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_KEY_NAME = "default.key"


class CliError(click.ClickException):
    """An IrkitError on its way to the terminal: one line (plus a hint), right exit code."""

    def __init__(self, error: IrkitError) -> None:
        super().__init__(error.message)
        self.error = error

    def show(self, file: IO[Any] | None = None) -> None:
        """`IrkitError.diagnostics()`, each of its lines escaped: a newline inside the message
        or hint (recorded text, a path) cannot start a line of its own."""
        out = file or sys.stderr
        lines = self.error.diagnostics(escape=safe).split("\n")
        click.echo(f"irkit: error: {lines[0]}", file=out)
        for line in lines[1:]:
            click.echo(line, file=out)


class CliBadInput(CliError):
    exit_code = EXIT_USAGE


class CliProblems(CliError):
    exit_code = EXIT_PROBLEMS


class IrkitGroup(click.Group):
    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name, cmd, rest = super().resolve_command(ctx, args)
        if cmd is not None and not isinstance(cmd, click.Group):
            _guard_text(cmd)
        return name, cmd, rest

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except IrkitError as exc:
            cls = CliProblems if exc.exit_code == EXIT_PROBLEMS else CliBadInput
            raise cls(exc) from exc
        except BrokenPipeError:
            # the reader went away (`irkit log | head`): stop quietly, as coreutils do
            _silence_stdout()
            ctx.exit(EXIT_BROKEN_PIPE)
        except OSError as exc:
            # what the library could not foresee (disk full, I/O error): still one line, and
            # the journal has already cut back whatever it had begun to write
            where = f"{os.fsdecode(exc.filename)}: " if exc.filename else ""
            raise CliBadInput(IrkitError(f"{where}{exc.strerror or exc}")) from exc
        except RecursionError as exc:
            raise CliBadInput(IrkitError("input is nested too deeply to read")) from exc
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:
            if _debug():
                raise
            raise CliBug(exc) from exc


EXIT_BROKEN_PIPE = 141  # what a shell reports for a coreutils tool killed by SIGPIPE


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot fail again."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


_DEBUG = False


def set_debug(value: bool) -> None:
    global _DEBUG
    _DEBUG = _DEBUG or value


def _debug() -> bool:
    return _DEBUG or os.environ.get("IRKIT_DEBUG", "") not in ("", "0")


class CliBug(click.ClickException):
    """An unexpected exception: a bug, not a finding (exit 3), so it never reads as
    "a check found problems". `IRKIT_DEBUG=1` shows the traceback instead."""

    exit_code = EXIT_BUG

    def __init__(self, exc: BaseException) -> None:
        super().__init__(type(exc).__name__)
        self.exc = exc

    def show(self, file: IO[Any] | None = None) -> None:
        out = file or sys.stderr
        detail = str(self.exc).encode("ascii", "backslashreplace").decode("ascii")[:200]
        detail = "".join(c if c.isprintable() else "?" for c in detail)
        click.echo(
            f"irkit: internal error (a bug in irkit): {type(self.exc).__name__}: {detail}",
            file=out,
        )
        click.echo(
            "hint: run again with IRKIT_DEBUG=1 for the traceback and report it to the irkit "
            "developers; a failed command leaves the case as it was",
            file=out,
        )


def has_surrogates(text: str) -> bool:
    """Whether `text` holds lone surrogates: bytes that were not UTF-8, as Python hands them
    over from argv and the environment (surrogateescape)."""
    if text.isascii():
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _guard_text(cmd: click.Command) -> None:
    """Make `cmd` refuse text options and arguments that are not valid UTF-8, before its body
    runs (so before anything is copied or written): one line, exit 2. Paths are exempt (a
    file name may be any bytes). Done once per command, where every command is resolved."""
    if getattr(cmd, "_irkit_text_guard", False) or cmd.callback is None:
        return
    texts = [p for p in cmd.params if isinstance(p.type, click.types.StringParamType)]
    callback = cmd.callback

    def checked(*args: Any, **kwargs: Any) -> Any:
        for param in texts:
            value = kwargs.get(param.name or "")
            values = value if isinstance(value, tuple) else (value,)
            if any(isinstance(v, str) and has_surrogates(v) for v in values):
                opts = param.opts if isinstance(param, click.Option) else []
                shown = max(opts, key=len) if opts else param.human_readable_name
                raise InputError(f"{shown} is not valid UTF-8; nothing was done")
        return callback(*args, **kwargs)

    cmd.callback = functools.update_wrapper(checked, callback)
    cmd._irkit_text_guard = True  # type: ignore[attr-defined]


def app_dir() -> Path:
    from pathlib import Path

    override = os.environ.get("IRKIT_HOME")
    return Path(override) if override else Path(click.get_app_dir("irkit"))


def default_key_path() -> Path:
    return app_dir() / DEFAULT_KEY_NAME


_GLOBAL_CASE: list[Path] = []


def set_global_case(value: str | None) -> None:
    """`irkit --case DIR COMMAND` (as `git -C`): the case for whichever command follows."""
    _GLOBAL_CASE.clear()
    if value is not None:
        from pathlib import Path

        _GLOBAL_CASE.append(Path(value))


def case_value(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    """A command's own --case wins, then the global `irkit --case`, then $IRKIT_CASE."""
    from click.core import ParameterSource

    if _GLOBAL_CASE and ctx.get_parameter_source(param.name or "") in (
        ParameterSource.ENVIRONMENT,
        ParameterSource.DEFAULT,
        None,
    ):
        return _GLOBAL_CASE[0]
    return value


def case_option(func: F) -> F:
    from pathlib import Path

    return click.option(
        "--case",
        "case_dir",
        type=click.Path(file_okay=False, path_type=Path),
        envvar="IRKIT_CASE",
        callback=case_value,
        help="Case folder (default: `irkit --case DIR`, $IRKIT_CASE, else search upward "
        "from here).",
    )(func)


def key_options(func: F) -> F:
    from pathlib import Path

    func = click.option(
        "--passphrase-file",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Read the key's passphrase from this file (else $IRKIT_PASSPHRASE or a prompt).",
    )(func)
    return click.option(
        "--key",
        "key_path",
        type=click.Path(dir_okay=False, path_type=Path),
        envvar="IRKIT_KEY",
        help="Signing key file (default: $IRKIT_KEY, else your default key).",
    )(func)


def json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")(func)


_SECRETS: dict[str, str] = {}


def take_secrets() -> None:
    """Move irkit's secrets out of the environment as the command starts: every child (a
    restore tool, a spec's check, a forked worker, $EDITOR) then starts without them,
    whichever code starts it (see irkit.childenv for which variables count)."""
    from irkit.childenv import is_irkit_secret

    _SECRETS.clear()
    for name in [k for k in os.environ if is_irkit_secret(k)]:
        _SECRETS[name] = os.environ.pop(name)


def secret(name: str) -> str | None:
    return _SECRETS.get(name, os.environ.get(name))


def passphrase_source(
    passphrase_file: Path | None,
    *,
    confirm: bool = False,
    env: str = "IRKIT_PASSPHRASE",
    prompt: str = "Key passphrase",
) -> Callable[[], str | None]:
    """Where a passphrase comes from: a file, $IRKIT_PASSPHRASE (or `env`), else a terminal
    prompt. A second key (a witness's) names its own variable and prompt."""

    def get() -> str | None:
        if passphrase_file is not None:
            from irkit.record.safefile import read_input_text

            text = read_input_text(passphrase_file, what="passphrase file")
            return text.rstrip("\r\n")
        given = secret(env)
        if given is not None:
            if has_surrogates(given):
                raise InputError(f"{env} is not valid UTF-8")
            return given
        if sys.stdin.isatty():
            value: str = click.prompt(
                prompt, hide_input=True, confirmation_prompt=confirm, err=True
            )
            return value
        return None

    return get


def load_signer(key_path: Path | None, passphrase_file: Path | None) -> Signer:
    from irkit.record.keyfiles import load_signer as _load

    return _load(key_path or default_key_path(), passphrase_source(passphrase_file))


def open_case(case_dir: Path | None) -> Case:
    from pathlib import Path

    from irkit.record.case import Case

    case = Case.find(case_dir, Path.cwd())
    report_torn(case.torn_tail())  # every command that reads the journal says so
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        # whatever part of the library read the journal, the lines it had to leave out are
        # named once when the command ends (also when it fails)
        ctx.call_on_close(lambda: report_read_problems(case))
    return case


def report_read_problems(case: Case) -> None:
    for index in sorted(case.read_problems):
        warn(case.read_problems[index])


@contextlib.contextmanager
def atomic_output(where: str | os.PathLike[str]) -> Iterator[IO[bytes]]:
    """Write `where` whole or not at all: a temporary file beside it, renamed into place only
    when the block succeeds, so a failed or interrupted run leaves no half-written output."""
    from pathlib import Path

    path = Path(where)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        stream = tmp.open("xb")
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror}") from exc
    try:
        with stream:
            yield stream
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def print_json(data: Any) -> None:
    import json

    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def print_entry(entry: Entry, as_json: bool = False, lines: Iterable[str] | None = None) -> None:
    """The tail of a writing command: the signed entry's JSON, or its human lines (by
    default `#seq kind: summary`), escaped like all recorded text."""
    if as_json:
        print_json(entry.to_json())
        return
    if lines is None:
        from irkit.record.summary import summarize

        lines = [f"#{entry.seq} {entry.kind}: {summarize(entry)}"]
    for line in lines:
        echo(line)


# What a terminal acts on or a reader misreads: C0 (tab and newline included: a recorded
# newline must not start what looks like a new record line), DEL, C1 (\x9b is a one-byte CSI),
# lone surrogates (undecodable bytes), line/paragraph separators and the bidi controls that
# reorder what is shown (U+061C, U+200E/F, U+202A-U+202E, U+2066-U+2069).
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]"
)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe(text: object) -> str:
    """`text` made inert for a terminal: every control, bidi and surrogate code point is
    shown as a visible `\\xNN` / `\\uNNNN` escape, so recorded text (a note, a name, a path)
    cannot send escape sequences, move the cursor, or fake a line of irkit's output. Human
    output only: JSON output is escaped by the JSON encoder."""
    shown = text if isinstance(text, str) else str(text)
    return _UNSAFE.sub(_escape, shown)


def echo(line: object = "", *, err: bool = False) -> None:
    """click.echo of one line of human output that may hold recorded text, escaped."""
    click.echo(safe(line), err=err)


def warn(message: str) -> None:
    click.echo(f"irkit: warning: {safe(message)}", err=True)


def report_torn(torn: TornTail | None) -> None:
    if torn is not None:
        warn(
            f"the journal ends in an incomplete line ({len(torn.data)} bytes, a crash "
            "mid-write); run `irkit repair`"
        )


def short_fp(fingerprint: str) -> str:
    return fingerprint.removeprefix("ed25519:")[:16]


def tune_allocator() -> None:
    """Keep large transient buffers in the heap instead of fresh kernel mappings.

    glibc gives every block above 128 KiB its own mmap and trims the heap eagerly, so
    streaming data in 1 MiB chunks (decompressed output, tar members, file blocks) costs an
    mmap, a munmap and 256 page faults per MiB. Measured on `backup verify` of a 1 GiB
    .tar.gz: system time 2.4-4.5 s without this, 0.4 s with it, and a lower peak RSS.
    glibc only (mallopt); anywhere else this does nothing.
    """
    import sys

    from irkit.record import libc

    if not sys.platform.startswith("linux"):
        return
    mallopt = libc.function("mallopt")
    if mallopt is None:
        return  # not glibc (musl has no mallopt)
    m_trim_threshold, m_mmap_threshold = -1, -3
    mallopt(m_mmap_threshold, 64 << 20)
    mallopt(m_trim_threshold, 256 << 20)


def progress_printer(prefix: str = "") -> Callable[[str, int, int], None] | None:
    """A one-line counter of a long job (verify, clone, sync) on stderr, only when stderr is
    a terminal: a script's output stays clean."""
    if not sys.stderr.isatty():
        return None

    def show(stage: str, done: int, total: int) -> None:
        click.echo(f"\r{prefix}{stage}: {done:,}/{total:,}", err=True, nl=False)
        if done >= total:
            click.echo("", err=True)

    return show
