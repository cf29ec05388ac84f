"""`irkit timestamp send|list`, and `irkit checkpoint --tsa/--timestamp/--tsa-queue` and
`irkit verify --tsa-root`: RFC 3161 timestamps over signed checkpoints."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from irkit._cli._common import (
    IrkitGroup,
    case_option,
    echo,
    json_option,
    key_options,
    load_signer,
    open_case,
    print_json,
    safe,
)
from irkit.errors import EnvironmentFailure, InputError, IrkitError
from irkit.record.summary import plural

# the names `checkpoint_tsa_options` gives its parameters, for checkpoint_cmd to pick out
TSA_OPTIONS = ("tsa", "tsa_roots", "tsa_policy", "use_timestamp", "tsa_queue")


F = TypeVar("F", bound=Callable[..., Any])


def _root_option(help_text: str) -> Callable[[F], F]:
    return click.option(
        "--tsa-root",
        "tsa_roots",
        multiple=True,
        type=click.Path(dir_okay=False, path_type=Path),
        metavar="PEM",
        help=help_text,
    )


def checkpoint_tsa_options(func: Any) -> Any:
    """The timestamp options of `irkit checkpoint` (kept here, beside what they do)."""
    options = [
        click.option(
            "--tsa",
            metavar="URL",
            help="Have this RFC 3161 TSA timestamp the new checkpoint (becomes the case's "
            "default TSA).",
        ),
        click.option(
            "--timestamp",
            "use_timestamp",
            is_flag=True,
            help="Timestamp the new checkpoint with the case's default TSA.",
        ),
        click.option(
            "--tsa-queue",
            is_flag=True,
            help="Offline: queue the timestamp request in the case; `irkit timestamp send` "
            "sends it later.",
        ),
        _root_option(
            "Pin this TSA root certificate in the case (repeatable); tokens must chain to a "
            "pinned root."
        ),
        click.option(
            "--tsa-policy",
            metavar="OID",
            help="Require this TSA policy in every token (kept as the case's setting).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def wants_timestamp(options: dict[str, Any]) -> bool:
    return bool(options["tsa"] or options["use_timestamp"] or options["tsa_queue"])


def _roots(values: tuple[Path, ...]) -> list[Any]:
    from irkit.audit import timestamp

    return [timestamp.read_root(p) for p in values]


def checkpoint_with_timestamp(
    *,
    case_dir: Path | None,
    out: Path | None,
    signer_loader: Any,
    tsa: str | None,
    tsa_roots: tuple[Path, ...],
    tsa_policy: str | None,
    use_timestamp: bool,
    tsa_queue: bool,
) -> None:
    """`irkit checkpoint --tsa URL | --timestamp | --tsa-queue`: sign and keep a checkpoint,
    queue a timestamp request over it, send it (unless --tsa-queue) and record the token."""
    from irkit.audit import timestamp
    from irkit.record import checkpoints as checkpoints_mod

    case = open_case(case_dir)
    setting = timestamp.setting(case)
    url = timestamp.check_url(tsa) if tsa else setting.url
    if url is None:
        raise InputError(
            "the case has no default TSA: pass --tsa URL",
            hint="the first `irkit checkpoint --tsa URL --tsa-root PEM` sets it",
        )
    policy = timestamp.check_policy(tsa_policy) if tsa_policy else setting.policy
    given = _roots(tsa_roots)
    roots = given + timestamp.pinned_roots(case.root)
    if not roots:
        raise InputError(
            "no TSA root is pinned in this case: pass --tsa-root PEM (the TSA's root "
            "certificate, obtained out of band)"
        )
    signer = signer_loader()
    case.check_signer(signer, timestamp.KIND)  # before anything is signed or kept

    def remember() -> None:
        for cert in given:
            timestamp.pin_root(case, cert)
        timestamp.save_setting(case, timestamp.Setting(url, policy))

    issued = checkpoints_mod.issue(case, signer, copy_to=out)
    item = timestamp.queue(case, issued.note, url)
    rel = item.path.relative_to(case.root)
    sys.stdout.write(issued.note.decode("utf-8"))
    kept = f"kept as {issued.path}" + (f" and {out}" if out else "")
    if tsa_queue:
        remember()
        click.echo(f"{kept}; timestamp request queued as {rel}: `irkit timestamp send`", err=True)
        return
    try:
        done = timestamp.send(case, item, signer, url=url, roots=roots, policy=policy)
    except EnvironmentFailure as exc:
        remember()
        raise EnvironmentFailure(
            f"{exc.message}; checkpoint {kept}, the timestamp request is queued as {rel}",
            hint="send it when online: `irkit timestamp send`",
        ) from exc
    remember()
    click.echo(
        f"{kept}; timestamped {done.gen_time} by {safe(done.tsa or url)} (entry {done.seq})",
        err=True,
    )


def verify_tsa_options(func: Any) -> Any:
    """`irkit verify --tsa-root PEM`."""
    return _root_option(
        "The TSA root certificate you trust, obtained out of band (repeatable): every "
        "recorded timestamp must chain to one (default: the roots pinned in the case)."
    )(func)


def tsa_roots_for_verify(values: tuple[Path, ...]) -> list[Any] | None:
    """The roots an auditor named, or None: the case's pinned roots."""
    return _roots(values) if values else None


@click.group(cls=IrkitGroup, name="timestamp")
def timestamp_group() -> None:
    """RFC 3161 timestamps over signed checkpoints: a third party's upper bound on the time
    of every entry a checkpoint covers (`irkit checkpoint --tsa URL`)."""


@timestamp_group.command("send")
@click.option("--tsa", metavar="URL", help="Send to this TSA (default: each request's own).")
@_root_option("Also accept tokens chaining to this root (pinned once one verified).")
@click.option("--tsa-policy", metavar="OID", help="Require this policy (default: the setting).")
@case_option
@key_options
@json_option
def send_cmd(
    tsa: str | None,
    tsa_roots: tuple[Path, ...],
    tsa_policy: str | None,
    case_dir: Path | None,
    key_path: Path | None,
    passphrase_file: Path | None,
    as_json: bool,
) -> None:
    """Send the queued timestamp requests; record each token that verifies.

    A request the TSA cannot be reached for, or whose answer does not verify, stays queued;
    the exit code is that of the first failure.
    """
    from irkit.audit import timestamp

    case = open_case(case_dir)
    setting = timestamp.setting(case)
    url = timestamp.check_url(tsa) if tsa else None
    policy = timestamp.check_policy(tsa_policy) if tsa_policy else setting.policy
    given = _roots(tsa_roots)
    roots = given + timestamp.pinned_roots(case.root)
    todo = timestamp.queued(case)
    if not todo:
        if as_json:
            print_json({"recorded": [], "failed": []})
        else:
            echo("no timestamp request is queued")
        return
    signer = load_signer(key_path, passphrase_file)
    recorded: list[dict[str, Any]] = []
    failures: list[IrkitError] = []
    for item in todo:
        try:
            done = timestamp.send(
                case, item, signer, url=url or item.url or setting.url, roots=roots, policy=policy
            )
        except IrkitError as exc:  # one down or refusing: go on with the others
            failures.append(exc)
            echo(f"irkit: {item.path.name}: {exc.message}", err=True)
            continue
        for cert in given:
            timestamp.pin_root(case, cert)
        recorded.append(
            {"seq": done.seq, "size": done.size, "gen_time": done.gen_time, "tsa": done.tsa}
        )
        if not as_json:
            echo(
                f"checkpoint of {plural(done.size, 'entry', 'entries')} timestamped "
                f"{done.gen_time} by "
                f"{safe(done.tsa)} (entry {done.seq})"
            )
    if as_json:
        print_json({"recorded": recorded, "failed": [f.message for f in failures]})
    if failures:
        raise failures[0]


@timestamp_group.command("list")
@case_option
@json_option
def list_cmd(case_dir: Path | None, as_json: bool) -> None:
    """Queued timestamp requests and recorded timestamps."""
    from irkit.audit import timestamp

    case = open_case(case_dir)
    waiting = [
        {
            "state": "queued",
            "size": q.size,
            "url": q.url,
            "queued": q.queued,
            "file": str(q.path.relative_to(case.root)),
        }
        for q in timestamp.queued(case)
    ]
    done = [
        {
            "state": "recorded",
            "seq": e.seq,
            "size": e.body["size"],
            "gen_time": e.body["gen_time"],
            "tsa": e.body["tsa"],
            "policy": e.body["policy"],
        }
        for e in timestamp.recorded_entries(case)
    ]
    if as_json:
        print_json(done + waiting)
        return
    if not done and not waiting:
        echo("no timestamps recorded or queued")
    for d in done:
        echo(
            f"recorded  entry {d['seq']}: checkpoint of "
            f"{plural(d['size'], 'entry', 'entries')}, genTime "
            f"{d['gen_time']}, {safe(d['tsa'])}, policy {d['policy']}"
        )
    for w in waiting:
        echo(
            f"queued    {safe(w['file'])}: checkpoint of "
            f"{plural(int(w['size'] or 0), 'entry', 'entries')} for "
            f"{safe(w['url'] or 'the default TSA')} since {w['queued']}"
        )
