"""`irkit exhibit`: show some entries, with proof, without the rest of the journal."""

from __future__ import annotations

from pathlib import Path

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
    warn,
)
from irkit.errors import InputError, ProblemsFound
from irkit.record.safefile import read_input


@click.group("exhibit", cls=IrkitGroup)
def exhibit_group() -> None:
    """Hand over a few entries with proof that they belong to the case.

    An exhibit holds the chosen entries, the entries that admitted their signers, an
    inclusion proof for each, and a signed checkpoint. The recipient checks it with
    `irkit exhibit verify FILE --trust OPENER_FINGERPRINT`, without the rest of the case.
    """


@exhibit_group.command("create")
@click.argument("seqs", nargs=-1, type=int)
@click.option(
    "--item",
    "items",
    multiple=True,
    metavar="ITEM",
    help="Include every entry concerning this evidence item, with a signed item index "
    "(repeatable).",
)
@click.option(
    "-o",
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the exhibit (JSON).",
)
@click.option(
    "--checkpoint",
    "checkpoint_file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Prove against this checkpoint (default: sign a new one).",
)
@case_option
@key_options
def create_cmd(
    seqs: tuple[int, ...],
    items: tuple[str, ...],
    out: Path,
    checkpoint_file: Path | None,
    case_dir: Path | None,
    key_path: Path | None,
    passphrase_file: Path | None,
) -> None:
    """Write an exhibit of entries SEQS and of every entry concerning each --item."""
    from irkit.audit import exhibit
    from irkit.record import checkpoints

    if not seqs and not items:
        raise InputError("name entries (SEQS) or evidence items (--item E-0001) to exhibit")
    case = open_case(case_dir)
    issued = None
    signer = None
    if checkpoint_file is None or items:
        signer = load_signer(key_path, passphrase_file)
    if checkpoint_file is not None:
        note = read_input(checkpoint_file, what="checkpoint")
    else:
        assert signer is not None
        issued = checkpoints.sign(case, signer)
        note = issued.note
    doc = exhibit.create(case, seqs, note, items=items, index_signer=signer if items else None)
    exhibit.write(out, doc)
    shown = ", ".join(f"#{e['seq']}" for e in doc["entries"])
    what = [f"{len(doc['requested'])} entries"] if doc["requested"] else []
    if items:
        what.append("items " + ", ".join(doc["items"]))
    echo(f"exhibit of {' and '.join(what)} written to {out} (contains {shown})")
    if issued is not None:
        # kept only once the exhibit exists; the exhibit carries its checkpoint anyway, so a
        # case on read-only media still yields one
        try:
            checkpoints.keep(case, issued)
        except OSError as exc:
            warn(f"the exhibit's checkpoint was not kept as {issued.path}: {exc.strerror}")


@exhibit_group.command("verify")
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option(
    "--trust",
    multiple=True,
    metavar="FINGERPRINT|PUBKEY_FILE",
    help="The case opener's fingerprint or public key file, obtained out of band.",
)
@click.option(
    "--against",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Also check the exhibit against this case's full journal: the same checkpoint, and "
    "an item index that leaves no entry out.",
)
@json_option
def verify_cmd(file: Path, trust: tuple[str, ...], against: Path | None, as_json: bool) -> None:
    """Check an exhibit on its own. Exit 0 when every entry is proven, 1 otherwise."""
    from irkit._cli.verify import _trust_values  # --trust reads one way everywhere
    from irkit.audit import exhibit
    from irkit.record.summary import names_from, summarize

    anchors = _trust_values(trust)
    data = read_input(file, what="exhibit")
    report = exhibit.verify(data, tuple(anchors))
    if against is not None:
        report.problems += exhibit.check_against(data, open_case(against))
    if as_json:
        print_json(
            {
                "ok": report.ok,
                "case_id": report.case_id,
                "opener": report.opener,
                "anchored": report.anchored,
                "checkpoint_size": report.checkpoint_size,
                "checkpoint_signers": [
                    {"fingerprint": fp, "name": name, "role": role}
                    for fp, name, role in report.checkpoint_signers
                ],
                "entries": [e.to_json() for e in report.entries],
                "items": [
                    {"item": c.item, "seqs": c.seqs, "state": c.state, "complete": not c.problems}
                    for c in report.items
                ],
                "index_signers": [
                    {"fingerprint": fp, "name": name, "role": role}
                    for fp, name, role in report.index_signers
                ],
                "problems": report.problems,
            }
        )
    else:
        from irkit.formats.timefmt import display

        names = names_from(report.entries)
        for entry in report.entries:
            who = names.get(entry.actor, entry.actor[:24])
            shown = display(entry.recorded)
            echo(f"#{entry.seq:<5} {shown}  {entry.kind:<16} {who:<20} {summarize(entry)}")
        signed_by = ", ".join(
            f"{name} ({role}, {fp})" for fp, name, role in report.checkpoint_signers
        )
        echo(f"checkpoint (size {report.checkpoint_size}) signed by {signed_by or 'no member'}")
        if report.items:
            by = ", ".join(f"{name} ({role}, {fp})" for fp, name, role in report.index_signers)
            echo(
                f"item index signed by {by or 'no lead'}: it lists every entry up to "
                f"#{(report.checkpoint_size or 1) - 1} concerning these items"
            )
        for chain in report.items:
            state = chain.state
            for fp, name in names.items():
                state = state.replace(fp, name)
            verdict = "complete" if not chain.problems else "INCOMPLETE"
            listed = ", ".join(f"#{seq}" for seq in chain.seqs)
            echo(f"{chain.item}: custody chain {verdict} ({listed}); {state}")
        for problem in report.problems:
            echo(f"PROBLEM: {problem}")
        if not report.anchored and not trust:
            echo("NOT ANCHORED: pass --trust with the opener's fingerprint")
        echo(f"case {report.case_id}: " + ("exhibit VERIFIED" if report.ok else "FAILED"))
    if not report.ok:
        raise ProblemsFound("the exhibit did not verify")
