"""`irkit key`: identities."""

from __future__ import annotations

from pathlib import Path

import click

from irkit._cli._common import (
    IrkitGroup,
    default_key_path,
    json_option,
    passphrase_source,
    print_json,
    safe,
    warn,
)
from irkit.errors import InputError


@click.group(cls=IrkitGroup, name="key")
def key_group() -> None:
    """Create, show and export Ed25519 signing keys.

    A key file holds your private key, sealed with a passphrase stretched by scrypt
    (docs/FORMAT.md). Its fingerprint, ed25519:<SHA-256 of the raw public key>, is how
    cases and auditors name you.
    """


@key_group.command("generate")
@click.option("--name", required=True, help="Your name as it should appear in records.")
@click.option("--role", default="responder", show_default=True, help="Your usual role.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the key (default: your default key in the irkit config folder).",
)
@click.option(
    "--passphrase-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Read the new passphrase from this file (else $IRKIT_PASSPHRASE or prompt).",
)
@click.option(
    "--no-passphrase",
    is_flag=True,
    help="Store the key unencrypted (anyone who copies the file can sign as you).",
)
@click.option(
    "--weak-passphrase",
    is_flag=True,
    help="Accept a passphrase shorter than 8 characters (a throwaway key).",
)
@json_option
def generate_cmd(
    name: str,
    role: str,
    out: Path | None,
    passphrase_file: Path | None,
    no_passphrase: bool,
    weak_passphrase: bool,
    as_json: bool,
) -> None:
    """Create a new signing key (file mode 0600, passphrase-protected by default).

    The passphrase needs at least 8 characters (NIST SP 800-63B) unless --weak-passphrase.
    """
    from irkit.formats import ed25519
    from irkit.formats.timefmt import format_utc, system_clock
    from irkit.record import keyfiles

    path = out or default_key_path()
    if path.exists():
        raise InputError(f"{path} already exists; refusing to overwrite a key")
    passphrase: str | None = None
    if no_passphrase:
        warn("writing an UNENCRYPTED private key: protect the file yourself")
    else:
        passphrase = passphrase_source(passphrase_file, confirm=True)()
        if passphrase is None:
            raise InputError(
                "no passphrase given: set IRKIT_PASSPHRASE, use --passphrase-file, run in a "
                "terminal, or choose --no-passphrase"
            )
        weak = keyfiles.passphrase_problem(passphrase)
        if weak is not None and passphrase and not weak_passphrase:
            raise InputError(
                weak, hint="choose a longer one, or pass --weak-passphrase for a throwaway key"
            )
    signer = ed25519.generate(name, role)
    keyfiles.write_key_file(path, signer, passphrase, created=format_utc(system_clock()))
    if as_json:
        print_json(
            {
                "path": str(path),
                "fingerprint": signer.fingerprint,
                "name": name,
                "role": role,
                "encrypted": passphrase is not None,
            }
        )
        return
    click.echo(f"key written to {path}")
    click.echo(f"fingerprint: {signer.fingerprint}")


@key_group.command("show")
@click.argument("path", required=False, type=click.Path(dir_okay=False, path_type=Path))
@json_option
def show_cmd(path: Path | None, as_json: bool) -> None:
    """Show a key's name, role and fingerprint (no passphrase needed)."""
    from irkit.record import keyfiles

    path = path or default_key_path()
    public = keyfiles.read_public(path)
    encrypted = keyfiles.is_encrypted(path) if not _is_pem(path) else None
    info = {
        "path": str(path),
        "name": public.name,
        "role": public.role,
        "fingerprint": public.fingerprint,
        "encrypted": encrypted,
    }
    if as_json:
        print_json(info)
        return
    for label, value in info.items():
        if value not in (None, ""):
            click.echo(safe(f"{label + ':':13}{value}"))


def _is_pem(path: Path) -> bool:
    try:
        return path.read_bytes()[:11] == b"-----BEGIN "
    except OSError:
        return False


@key_group.command("export-public")
@click.argument("path", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the PEM here instead of standard output.",
)
def export_public_cmd(path: Path | None, out: Path | None) -> None:
    """Print the public key as PEM (SubjectPublicKeyInfo), readable by openssl.

    Hand this file to the case lead, who adds you with `irkit member add`.
    """
    from irkit.record import keyfiles

    pem = keyfiles.read_public(path or default_key_path()).pem()
    if out is None:
        click.echo(pem.decode("ascii"), nl=False)
    else:
        out.write_bytes(pem)
        click.echo(f"public key written to {out}", err=True)
