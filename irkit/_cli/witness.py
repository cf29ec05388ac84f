"""`irkit witness`: a second key that cosigns a case's checkpoints (C2SP tlog-witness), and
the log side's `irkit checkpoint --witness/--witness-request/--add-cosignature`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from irkit._cli._common import (
    IrkitGroup,
    app_dir,
    echo,
    json_option,
    open_case,
    passphrase_source,
    print_json,
    warn,
)
from irkit.errors import InputError, IrkitError

PASSPHRASE_ENV = "IRKIT_WITNESS_PASSPHRASE"  # noqa: S105 (a variable's name)


def _folder(value: Path | None) -> Path:
    return value if value is not None else app_dir() / "witness"


def dir_option(func: Any) -> Any:
    return click.option(
        "--dir",
        "folder",
        type=click.Path(file_okay=False, path_type=Path),
        envvar="IRKIT_WITNESS_DIR",
        help="The witness's folder: key and per-log state (default: $IRKIT_HOME/witness).",
    )(func)


def passphrase_option(func: Any) -> Any:
    return click.option(
        "--passphrase-file",
        type=click.Path(dir_okay=False, path_type=Path),
        help=f"The witness key's passphrase (else ${PASSPHRASE_ENV} or a prompt).",
    )(func)


def _source(passphrase_file: Path | None, confirm: bool = False) -> Any:
    return passphrase_source(
        passphrase_file, confirm=confirm, env=PASSPHRASE_ENV, prompt="Witness key passphrase"
    )


@click.group(cls=IrkitGroup, name="witness")
def witness_group() -> None:
    """Cosign other people's checkpoints: an independent record that a case's journal only
    ever grew (C2SP tlog-witness / cosignature/v1).

    The witness keeps, per log, the size and root it last cosigned and cosigns a new
    checkpoint only with a consistency proof from there; an auditor then requires its
    cosignature with `irkit verify --witness FINGERPRINT`.
    """


@witness_group.command("init")
@dir_option
@click.option("--name", help="Key name on the cosignature lines (default irkit-witness/<hex>).")
@passphrase_option
@json_option
def init_cmd(
    folder: Path | None, name: str | None, passphrase_file: Path | None, as_json: bool
) -> None:
    """Create the witness's own key (passphrase-protected, mode 0600) in its folder."""
    from irkit.audit import witness
    from irkit.formats.timefmt import format_utc, system_clock

    where = _folder(folder)
    passphrase = _source(passphrase_file, confirm=True)()
    if passphrase is None:
        raise InputError(
            f"no passphrase given: set {PASSPHRASE_ENV}, use --passphrase-file, or run in a "
            "terminal"
        )
    ident = witness.init_witness(where, passphrase, name=name, created=format_utc(system_clock()))
    _show_identity(ident, as_json)


def _show_identity(ident: Any, as_json: bool, extra: dict[str, Any] | None = None) -> None:
    from irkit.audit import witness

    info = {
        "folder": str(ident.folder),
        "name": ident.name,
        "fingerprint": ident.fingerprint,
        "vkey": ident.vkey,
        "public_key_file": str(ident.folder / witness.PUB_FILE),
    } | (extra or {})
    if as_json:
        print_json(info)
        return
    echo(f"witness {ident.name} in {ident.folder}")
    echo(f"fingerprint: {ident.fingerprint}")
    echo(f"vkey: {ident.vkey}")
    echo(f"public key: {info['public_key_file']}")
    for log in (extra or {}).get("logs", []):
        echo(f"log {log['origin']}: cosigned size {log['size']}, {len(log['keys'])} key(s)")


@witness_group.command("show")
@dir_option
@json_option
def show_cmd(folder: Path | None, as_json: bool) -> None:
    """The witness's identity (give the fingerprint or vkey to auditors) and its logs."""
    from irkit.audit import witness

    where = _folder(folder)
    ident = witness.identity(where)
    states = [s.model_dump(mode="json", exclude={"checkpoint"}) for s in witness.logs(where)]
    _show_identity(ident, as_json, {"logs": states})


def _log_key(value: str, case: Any) -> Any:
    from irkit.formats import cosignature
    from irkit.formats.ed25519 import is_fingerprint

    if cosignature.is_vkey(value) and not Path(value).exists():
        return cosignature.parse_vkey(value)
    if case is not None and (is_fingerprint(value) or len(value) == 64):
        member = case.roster().resolve(value, what="--key")
        from irkit.formats.ed25519 import PublicKey, b64d

        raw = b64d(member.public_key, what="member key")
        return cosignature.VerifierKey(member.fingerprint, cosignature.LOG_ALG, PublicKey(raw))
    from irkit.record.keyfiles import read_public

    key = read_public(Path(value))
    return cosignature.VerifierKey(key.fingerprint, cosignature.LOG_ALG, key)


@witness_group.command("add-log")
@click.argument("origin", required=False)
@click.option(
    "--case",
    "case_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Take the origin from this case (and, without --key, its leads' keys).",
)
@click.option(
    "--key",
    "keys",
    multiple=True,
    metavar="PUBKEY_FILE|VKEY|FINGERPRINT",
    help="A key the log signs checkpoints with (repeatable; a fingerprint with --case).",
)
@dir_option
@json_option
def add_log_cmd(
    origin: str | None,
    case_dir: Path | None,
    keys: tuple[str, ...],
    folder: Path | None,
    as_json: bool,
) -> None:
    """Accept checkpoints of a log (a case) signed by the given keys.

    Irkit cases sign checkpoints with a member's key, named by its fingerprint; the witness
    cosigns only those signed by a key configured here.
    """
    from irkit.audit import witness
    from irkit.formats import cosignature
    from irkit.formats.ed25519 import PublicKey, b64d
    from irkit.record.roster import origin_for

    case = open_case(case_dir) if case_dir is not None else None
    if case is not None:
        roster = case.roster()
        case_origin = origin_for(roster)
        if origin is not None and origin != case_origin:
            raise InputError(f"the case's origin is {case_origin!r}, not {origin!r}")
        origin = case_origin
    if not origin:
        raise InputError("give the log's ORIGIN or --case CASE")
    chosen = [_log_key(k, case) for k in keys]
    if not chosen and case is not None:
        chosen = [
            cosignature.VerifierKey(
                m.fingerprint,
                cosignature.LOG_ALG,
                PublicKey(b64d(m.public_key, what="member key")),
            )
            for m in case.roster().members.values()
            if m.active and m.role == "lead"
        ]
    where = _folder(folder)
    witness.identity(where)  # a witness must exist there
    state = witness.add_log(where, origin, chosen)
    if as_json:
        print_json(state.model_dump(mode="json", exclude={"checkpoint"}))
        return
    echo(f"log {state.origin}: cosigned size {state.size}; trusted keys:")
    for k in state.keys:
        echo(f"  {k.name}")


@witness_group.command("cosign")
@click.argument("checkpoint", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--old", "old_size", type=click.IntRange(min=0), default=0, show_default=True,
              help="With CHECKPOINT: the size the proof starts from.")  # fmt: skip
@click.option(
    "--proof",
    type=click.Path(dir_okay=False, path_type=Path),
    help="With CHECKPOINT: the consistency proof, one base64 hash per line.",
)
@click.option(
    "--request",
    "request_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="An add-checkpoint request file (`irkit checkpoint --witness-request`).",
)
@click.option(
    "-o",
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the cosignature line(s) here for `irkit checkpoint --add-cosignature`.",
)
@dir_option
@passphrase_option
def cosign_cmd(
    checkpoint: Path | None,
    old_size: int,
    proof: Path | None,
    request_path: Path | None,
    out: Path | None,
    folder: Path | None,
    passphrase_file: Path | None,
) -> None:
    """Cosign a checkpoint offline, after the same checks as `witness serve`.

    Refused: an unknown log (or key), a bad signature, an old size other than the one the
    witness last cosigned (it says which), a proof that does not verify or is not used up.
    """
    from irkit.audit import witness
    from irkit.record.safefile import atomic_write, read_input

    if (checkpoint is None) == (request_path is None):
        raise InputError("give a CHECKPOINT file or --request FILE (one of them)")
    if request_path is not None:
        if proof is not None or old_size:
            raise InputError("--old and --proof go with CHECKPOINT, not --request")
        data = read_input(request_path, what="request", limit=witness.MAX_REQUEST)
    else:
        assert checkpoint is not None
        note = read_input(checkpoint, what="checkpoint", limit=witness.MAX_REQUEST)
        nodes = b""
        if proof is not None:
            nodes = read_input(proof, what="proof", limit=witness.MAX_REQUEST)
            if nodes and not nodes.endswith(b"\n"):
                nodes += b"\n"
        data = f"old {old_size}\n".encode() + nodes + b"\n" + note
    ident, signer = witness.load_signer(_folder(folder), _source(passphrase_file))
    try:
        line = witness.add_checkpoint(ident.folder, ident, signer, data)
    except witness.WitnessRefusal as refusal:
        if refusal.status == 409:
            size = refusal.body.decode().strip()
            raise InputError(
                f"the witness last cosigned size {size}, not {witness.parse_request(data).old}",
                hint=f"make the request again from size {size} "
                f"(`irkit checkpoint --witness-request FILE --old-size {size}`)",
            ) from refusal
        raise
    if out is not None:
        try:
            atomic_write(out, line)
        except OSError as exc:
            raise InputError(f"cannot write {out}: {exc.strerror}") from exc
        click.echo(f"cosignature written to {out}", err=True)
    else:
        sys.stdout.write(line.decode("utf-8"))


@witness_group.command("serve")
@click.option(
    "--addr",
    default="127.0.0.1:7380",
    show_default=True,
    help="HOST:PORT to listen on (loopback by default; port 0 picks a free one).",
)
@dir_option
@passphrase_option
def serve_cmd(addr: str, folder: Path | None, passphrase_file: Path | None) -> None:
    """Answer tlog-witness `POST /add-checkpoint` (and `GET /<origin hash>/checkpoint`).

    Prints the URL it listens on, then one line per request on stderr; stop with Ctrl-C.
    """
    import signal

    from irkit.audit import witness

    host, sep, port_text = addr.rpartition(":")
    if not sep or not host or not port_text.isdigit() or int(port_text) > 65535:
        raise InputError(f"--addr {addr!r} is not HOST:PORT")
    ident, signer = witness.load_signer(_folder(folder), _source(passphrase_file))
    try:
        server = witness.make_server(
            ident.folder,
            ident,
            signer,
            (host.strip("[]"), int(port_text)),
            log=lambda line: echo(line, err=True),
        )
    except OSError as exc:
        raise InputError(f"cannot listen on {addr}: {exc.strerror}") from exc
    bound_host, bound_port = server.server_address[:2]
    host_text = bound_host.decode() if isinstance(bound_host, bytes) else str(bound_host)
    shown = f"[{host_text}]" if ":" in host_text else host_text
    click.echo(f"witness {ident.name} listening on http://{shown}:{bound_port}")
    sys.stdout.flush()
    import ipaddress

    try:
        loopback = ipaddress.ip_address(host_text).is_loopback
    except ValueError:
        loopback = host_text == "localhost"
    if not loopback:
        warn(
            f"listening beyond loopback ({host_text}): anyone who reaches it can submit "
            "checkpoints (only logs added with `witness add-log` are cosigned)"
        )

    def stop(*_: object) -> None:
        raise KeyboardInterrupt  # SIGTERM ends serve_forever like Ctrl-C: sockets closed

    signal.signal(signal.SIGTERM, stop)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


# -- the log side, for `irkit checkpoint` -------------------------------------------------------


def checkpoint_with_witnesses(
    *,
    case_dir: Path | None,
    out: Path | None,
    witnesses: tuple[str, ...],
    witness_keys: tuple[str, ...],
    witness_request: Path | None,
    old_size: int | None,
    add_cosignature: Path | None,
    signer_loader: Any,
) -> None:
    """`irkit checkpoint --witness URL… | --witness-request FILE | --add-cosignature FILE`."""
    from irkit.audit import witness
    from irkit.record import checkpoints as checkpoints_mod
    from irkit.record.safefile import atomic_write, read_input

    case = open_case(case_dir)
    keys = [witness.witness_key(v, case.root) for v in witness_keys]
    if add_cosignature is not None:
        if witnesses or witness_request or out:
            raise InputError("--add-cosignature attaches to a kept checkpoint: nothing else")
        if not keys:
            raise InputError("--add-cosignature needs --witness-key (whose cosignature it is)")
        response = read_input(add_cosignature, what="cosignature", limit=witness.MAX_REQUEST)
        rel, added = witness.attach_response(case, response, keys)
        click.echo(f"{rel}: {added} cosignature(s) added")
        return
    if witnesses and not keys:
        raise InputError(
            "--witness needs --witness-key: the witness's public key, vkey or fingerprint",
            hint="`irkit witness show` on the witness prints its vkey",
        )
    signer = signer_loader()
    issued = checkpoints_mod.sign(case, signer)
    if witness_request is not None:
        old = old_size
        if old is None:
            old = max((witness.last_cosigned_size(case, k) for k in keys), default=0)
        body = witness.request_file(case, issued.note, old)
        try:
            atomic_write(witness_request, body)
        except OSError as exc:
            raise InputError(f"cannot write {witness_request}: {exc.strerror}") from exc
        try:
            checkpoints_mod.keep(case, issued)
        except OSError as exc:
            witness_request.unlink(missing_ok=True)
            raise InputError(f"could not keep the checkpoint: {exc.strerror}") from exc
        click.echo(
            f"request (from size {old}) written to {witness_request}; checkpoint kept as "
            f"{issued.path}",
            err=True,
        )
        return
    lines: list[str] = []
    failures: list[IrkitError] = []
    for url in witnesses:
        try:
            got = witness.request_cosignature(case, issued.note, url, keys)
        except IrkitError as exc:  # one witness down or refusing: try the others
            failures.append(exc)
            echo(f"irkit: warning: {exc.message}", err=True)
            continue
        lines.extend(got)
    if not lines:
        raise failures[0] if failures else InputError("no cosignature was obtained")
    note = witness.with_cosignatures(issued.note, lines)
    witness.store_witness_keys(case, keys)
    if out is not None:
        try:
            atomic_write(out, note)
        except OSError as exc:
            raise InputError(f"cannot write {out}: {exc.strerror}; nothing was kept") from exc
    checkpoints_mod.keep(
        case, checkpoints_mod.IssuedCheckpoint(issued.checkpoint, note, issued.path)
    )
    sys.stdout.write(note.decode("utf-8"))
    click.echo(
        f"kept as {issued.path} with {len(lines)} cosignature(s)" + (f" and {out}" if out else ""),
        err=True,
    )
    if failures:
        raise failures[0]


def checkpoint_witness_options(func: Any) -> Any:
    """The witness options of `irkit checkpoint` (kept here, beside what they do)."""
    options = [
        click.option(
            "--witness",
            "witnesses",
            multiple=True,
            metavar="URL",
            help="Ask this tlog-witness to cosign the new checkpoint (repeatable).",
        ),
        click.option(
            "--witness-key",
            "witness_keys",
            multiple=True,
            metavar="PUBKEY_FILE|VKEY|FINGERPRINT",
            help="A witness whose cosignatures to accept (repeatable; `irkit witness show`).",
        ),
        click.option(
            "--witness-request",
            type=click.Path(dir_okay=False, path_type=Path),
            help="Offline: write the add-checkpoint request for the new checkpoint here.",
        ),
        click.option(
            "--old-size",
            type=click.IntRange(min=0),
            help="With --witness-request: the size the witness last cosigned (default: what "
            "the case's checkpoints show, else 0).",
        ),
        click.option(
            "--add-cosignature",
            type=click.Path(dir_okay=False, path_type=Path),
            help="Attach a witness's response (`irkit witness cosign -o`) to the checkpoint "
            "it cosigns.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def verify_witness_options(func: Any) -> Any:
    """`irkit verify --witness … --min-witnesses N`."""
    func = click.option(
        "--min-witnesses",
        type=click.IntRange(min=1),
        help="How many of the --witness keys must have cosigned (default: 1).",
    )(func)
    return click.option(
        "--witness",
        "witnesses",
        multiple=True,
        metavar="FINGERPRINT|PUBKEY_FILE|VKEY",
        help="A witness you trust, obtained out of band: require its cosignature on a "
        "checkpoint covering the journal (repeatable).",
    )(func)


def witness_keys_for_verify(
    values: tuple[str, ...], min_witnesses: int | None, case_root: Path
) -> tuple[list[Any], int]:
    """The witness keys an auditor named and the quorum; (keys, 0) when none were."""
    from irkit.audit import witness

    if not values:
        if min_witnesses is not None:
            raise InputError("--min-witnesses needs --witness")
        return [], 0
    keys = {k.fingerprint: k for k in (witness.witness_key(v, case_root) for v in values)}
    quorum = 1 if min_witnesses is None else min_witnesses
    if quorum > len(keys):
        raise InputError(f"--min-witnesses {quorum} but only {len(keys)} distinct witness key(s)")
    return list(keys.values()), quorum
