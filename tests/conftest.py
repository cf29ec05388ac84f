"""Shared fixtures: deterministic keys, a fixed clock, a ready case, and a CLI runner."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from click.testing import CliRunner, Result

from irkit.formats import ed25519
from irkit.record import keyfiles
from irkit.record.case import Case, add_member, init_case
from tests.s3server import s3_env, s3_nocond, s3_remote, s3server  # noqa: F401 -- fixtures

if TYPE_CHECKING:
    from tests.pgdumps import Dumps

DATA = Path(__file__).parent / "data"


@pytest.fixture(autouse=True, scope="session")
def _irkit_home(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Library tests append too, and appends keep a secret in the user's irkit folder
    (the append cache's MAC key): keep it out of the real home."""
    os.environ.setdefault("IRKIT_HOME", str(tmp_path_factory.mktemp("irkit-home")))


def asset(name: str) -> Path:
    """A file under tests/data."""
    return DATA / name


def seeded_signer(label: str, role: str = "responder") -> ed25519.Signer:
    """Fixed test keys: the same label always gives the same key (golden files rely on it)."""
    seed = hashlib.sha256(f"irkit test key {label}".encode()).digest()
    return ed25519.signer_from_seed(seed, name=label.title(), role=role)


class FixedClock:
    """A clock that starts at a fixed instant and advances a fixed step per reading."""

    def __init__(
        self, start: datetime = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), step: float = 1.0
    ) -> None:
        self.now = start
        self.step = timedelta(seconds=step)

    def __call__(self) -> datetime:
        current = self.now
        self.now += self.step
        return current


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def alice() -> ed25519.Signer:
    return seeded_signer("alice", "lead")


@pytest.fixture
def bob() -> ed25519.Signer:
    return seeded_signer("bob")


@pytest.fixture
def mallory() -> ed25519.Signer:
    return seeded_signer("mallory")


@pytest.fixture
def case(tmp_path: Path, alice: ed25519.Signer, bob: ed25519.Signer, clock: FixedClock) -> Case:
    """A case opened by Alice (lead) with Bob added as responder."""
    opened = init_case(
        tmp_path / "case", title="Test case", case_id="TEST-1", signer=alice, clock=clock
    )
    add_member(opened, alice, bob.public, name="Bob", role="responder", clock=clock)
    return opened


@dataclass
class KeyFiles:
    alice: Path
    bob: Path
    mallory: Path


@pytest.fixture
def key_files(
    tmp_path: Path, alice: ed25519.Signer, bob: ed25519.Signer, mallory: ed25519.Signer
) -> KeyFiles:
    """Unencrypted key files for the three test identities."""
    folder = tmp_path / "keys"
    out = KeyFiles(folder / "alice.key", folder / "bob.key", folder / "mallory.key")
    for signer, path in ((alice, out.alice), (bob, out.bob), (mallory, out.mallory)):
        keyfiles.write_key_file(path, signer, None, created="2026-01-01T00:00:00.000000Z")
    return out


@pytest.fixture
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """No user config, no ambient IRKIT_* variables, cwd in tmp."""
    for var in list(os.environ):
        if var.startswith("IRKIT_"):
            monkeypatch.delenv(var)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("IRKIT_HOME", str(home))
    monkeypatch.chdir(tmp_path)
    yield home


Runner = Callable[..., Result]


@pytest.fixture
def irkit(isolated_env: Path) -> Runner:
    """Run the CLI in-process: irkit("note", "add", "text", key=path, case=dir)."""
    from irkit._cli import cli

    def run(
        *args: str,
        key: Path | None = None,
        case: Path | None = None,
        input: str | None = None,
        env: dict[str, str] | None = None,
    ) -> Result:
        full_env = dict(env or {})
        if key is not None:
            full_env["IRKIT_KEY"] = str(key)
        if case is not None:
            full_env["IRKIT_CASE"] = str(case)
        return CliRunner().invoke(
            cli, list(args), input=input, env=full_env, catch_exceptions=False
        )

    return run


@pytest.fixture(scope="session")
def pg_dumps(tmp_path_factory: pytest.TempPathFactory) -> Dumps:
    """pg_dump files (custom and plain; intact and with an empty table), built once."""
    from tests.pgdumps import build_dumps

    return build_dumps(tmp_path_factory.mktemp("pgdumps"))
