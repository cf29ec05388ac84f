"""`irkit custody`: two-party transfers and the rest of an item's chain."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from irkit._cli._common import (
    IrkitGroup,
    case_option,
    echo,
    json_option,
    key_options,
    load_signer,
    open_case,
    passphrase_source,
    print_entry,
    print_json,
    short_fp,
)
from irkit.errors import InputError


@click.group("custody", cls=IrkitGroup)
def custody_group() -> None:
    """Who holds each item. A transfer takes two signatures: the current custodian releases
    (`release`), the receiver re-checks and accepts (`accept`); until then it is in transit.
    Only the current custodian may release, store, check, return or dispose of an item."""


@custody_group.command("release")
@click.argument("items", nargs=-1, required=True)
@click.option(
    "--to",
    "to",
    required=True,
    metavar="MEMBER",
    help="The receiver: a member's exact name, fingerprint prefix (8+ hex) or fingerprint.",
)
@click.option("--purpose", required=True, help="Why it changes hands (e.g. 'lab analysis').")
@click.option("--location", help="Where the hand-over happens.")
@click.option("--method", help="How it travels (in person, courier, sealed bag no. ...).")
@case_option
@key_options
def release_cmd(
    items: tuple[str, ...],
    to: str,
    purpose: str,
    location: str | None,
    method: str | None,
    case_dir: Path | None,
    key_path: Path | None,
    passphrase_file: Path | None,
) -> None:
    """Release ITEMS to another member (your signature; theirs comes with `accept`)."""
    from irkit.evidence import custody

    case = open_case(case_dir)
    entry = custody.release(
        case,
        load_signer(key_path, passphrase_file),
        items,
        to=to,
        purpose=purpose,
        location=location,
        method=method,
    )
    print_entry(entry)
    receiver = case.roster().members[entry.body["to"]].name
    echo(
        f"transfer {entry.body['transfer']} is in transit until the receiver ({receiver}) runs "
        f"`irkit custody accept {entry.body['transfer']}`"
    )


@custody_group.command("accept")
@click.argument("transfer")
@click.option("--condition", help="Condition on receipt (seal intact, bag no. ...).")
@case_option
@key_options
def accept_cmd(
    transfer: str,
    condition: str | None,
    case_dir: Path | None,
    key_path: Path | None,
    passphrase_file: Path | None,
) -> None:
    """Accept TRANSFER as its named receiver, after re-hashing the items you can reach."""
    from irkit.evidence import custody

    case = open_case(case_dir)
    entry = custody.accept(
        case, load_signer(key_path, passphrase_file), transfer, condition=condition
    )
    for c in entry.body["checks"]:
        echo(f"{c['item']}: {'hash OK' if c['ok'] else 'CHECK FAILED: ' + c['note']}")
    print_entry(entry)


@custody_group.command("check")
@click.argument("items", nargs=-1, required=True)
@case_option
@key_options
def check_cmd(
    items: tuple[str, ...],
    case_dir: Path | None,
    key_path: Path | None,
    passphrase_file: Path | None,
) -> None:
    """Re-verify ITEMS you hold and record the result."""
    from irkit.evidence import custody

    entry = custody.check(open_case(case_dir), load_signer(key_path, passphrase_file), items)
    for c in entry.body["checks"]:
        echo(f"{c['item']}: {'hash OK' if c['ok'] else 'CHECK FAILED: ' + c['note']}")
    print_entry(entry)


@custody_group.command("store")
@click.argument("items", nargs=-1, required=True)
@click.option("--location", required=True, help="New storage location (locker, safe, shelf).")
@case_option
@key_options
def store_cmd(
    items: tuple[str, ...],
    location: str,
    case_dir: Path | None,
    key_path: Path | None,
    passphrase_file: Path | None,
) -> None:
    """Record that ITEMS you hold moved to another storage location."""
    from irkit.evidence import custody

    print_entry(
        custody.store(
            open_case(case_dir), load_signer(key_path, passphrase_file), items, location=location
        )
    )


def _final(kind: str):  # type: ignore[no-untyped-def]
    @click.argument("items", nargs=-1, required=True)
    @click.option("--reason", required=True, help="Why (returned to owner, destroyed by ...).")
    @click.option(
        "--witness-key",
        type=click.Path(dir_okay=False, path_type=Path),
        help="A witness's key file (a case member): they sign the same statement.",
    )
    @click.option(
        "--witness-passphrase-file",
        type=click.Path(dir_okay=False, path_type=Path),
        help="The witness key's passphrase (else $IRKIT_WITNESS_PASSPHRASE or a prompt).",
    )
    @case_option
    @key_options
    def command(
        items: tuple[str, ...],
        reason: str,
        witness_key: Path | None,
        witness_passphrase_file: Path | None,
        case_dir: Path | None,
        key_path: Path | None,
        passphrase_file: Path | None,
    ) -> None:
        from irkit.evidence import custody
        from irkit.record.keyfiles import load_signer as load_key

        if witness_passphrase_file is not None and witness_key is None:
            raise InputError("--witness-passphrase-file needs --witness-key")
        witness = None
        if witness_key is not None:
            witness = load_key(
                witness_key,
                passphrase_source(
                    witness_passphrase_file,
                    env="IRKIT_WITNESS_PASSPHRASE",
                    prompt=f"Passphrase of the witness key {witness_key}",
                ),
            )
        print_entry(
            custody.finish(
                open_case(case_dir),
                load_signer(key_path, passphrase_file),
                kind,
                items,
                reason=reason,
                witness=witness,
            )
        )

    return command


custody_group.command("return", help="Final disposition: ITEMS returned to their owner.")(
    _final("custody.returned")
)
custody_group.command("dispose", help="Final disposition: ITEMS destroyed or discarded.")(
    _final("custody.disposed")
)


@custody_group.command("show")
@click.argument("item_id")
@case_option
@json_option
def show_cmd(item_id: str, case_dir: Path | None, as_json: bool) -> None:
    """The chain of ITEM: time (UTC), from, to, purpose, location, condition, signature."""
    from irkit.evidence import custody
    from irkit.record.summary import names_from

    entries = open_case(case_dir).read_entries().entries
    rows = custody.chain(entries, item_id)
    holding = custody.fold(entries).items.get(item_id)
    if rows is None or holding is None:
        raise InputError(f"no such item: {item_id}")
    names = names_from(entries)
    if as_json:
        print_json(
            {
                "item": item_id,
                "holder": holding.holder,
                "in_transit": holding.transfer,
                "final": holding.final,
                "chain": [
                    dict(r, by_name=names.get(r["by"]), to_name=names.get(r["to"] or ""))
                    for r in rows
                ],
            }
        )
        return
    echo_chain(rows, names)
    state = (
        f"final: {holding.final}"
        if holding.final
        else f"in transit ({holding.transfer})"
        if holding.transfer
        else f"held by {names.get(holding.holder, holding.holder)}"
    )
    echo(f"{item_id}: {state}. Hash-chain continuity is checked by `irkit verify`.")


def echo_chain(rows: list[dict[str, Any]], names: dict[str, str]) -> None:
    """One line per custody event; people shown as name [fingerprint prefix]."""

    def who(fp: str | None) -> str:
        return f"{names.get(fp, '?')} [{short_fp(fp)}]" if fp else ""

    for r in rows:
        extra = "  ".join(
            f"{k}: {r[k]}" for k in ("purpose", "location", "condition", "transfer") if r[k]
        )
        moved = f"  from: {who(r['from'])}" if r["from"] else ""
        moved += f"  to: {who(r['to'])}" if r["to"] else ""
        from irkit.formats.timefmt import display

        echo(
            f"#{r['seq']:<4} {display(r['time'])}  {r['event']:<18} by {who(r['by'])}{moved}  "
            f"sig: {r['signature']}  {extra}".rstrip()
        )
