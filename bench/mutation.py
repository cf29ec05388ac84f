"""Mutation testing (issue 13) of the modules an auditor relies on: a dev tool, not in CI.

Each module is mutated on its own, in a throwaway copy of the tree, with only the tests
that exercise it (mutmut 3 then runs, for each mutant, the subset of those tests that
reach the mutated function). A security check deleted must fail a test: a survivor in a
signature, chain, Merkle, exhibit, custody or membership check is a missing test.

Run: python bench/mutation.py [MODULE ...] [--max-children 1] [--keep DIR] [--after DIR]
     (MODULE is a key below, e.g. merkle; default: all). Needs mutmut>=3.
Prints one line per module (mutants, killed, survived, no tests, score = killed / tested);
`--survivors` lists the survivors; `--after DIR` re-tests only the survivors of a kept run
(inspect one with `cd DIR/<module> && python -m mutmut show <name>`).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from fnmatch import fnmatchcase
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# module key -> (file to mutate, tests that exercise it, the functions mutated: the checks,
# not the writers, where a module holds both; None: all). New killer tests live in
# tests/unit/test_mutants_<key>.py and are picked up when present.
TARGETS: dict[str, tuple[str, list[str], list[str] | None]] = {
    "canonical": (
        "irkit/formats/canonical.py",
        ["tests/unit/test_canonical.py", "tests/unit/test_malformed_inputs.py"],
        None,
    ),
    "merkle": (
        "irkit/formats/merkle.py",
        ["tests/unit/test_merkle.py", "tests/unit/test_witness_merkle_vectors.py"],
        None,
    ),
    "signednote": ("irkit/formats/signednote.py", ["tests/unit/test_checkpoint.py"], None),
    "ed25519": (
        "irkit/formats/ed25519.py",
        ["tests/unit/test_keys.py", "tests/unit/test_forgery.py", "tests/unit/test_checkpoint.py"],
        None,
    ),
    "roster": (
        "irkit/record/roster.py",
        ["tests/unit/test_forgery.py", "tests/unit/test_trust_rules.py", "tests/unit/test_case.py"],
        None,
    ),
    "exhibit": (
        "irkit/audit/exhibit.py",
        [
            "tests/unit/test_exhibit.py",
            "tests/unit/test_exhibit_items.py",
            "tests/unit/test_forgery.py",
        ],
        ["verify", "_check_checkpoint_signers", "_parse_exhibit", "check_against"],
    ),
    "itemindex": (
        "irkit/audit/itemindex.py",
        ["tests/unit/test_exhibit_items.py", "tests/unit/test_exhibit.py"],
        ["parse_index", "walk_chain", "check_index"],
    ),
    "custody": (
        "irkit/evidence/custody.py",
        ["tests/unit/test_custody.py"],
        ["apply", "_witness_problem", "_witness_ok", "fold", "held_by", "verify_rule", "chain"],
    ),
    "verify": (
        "irkit/audit/verify.py",
        [
            "tests/unit/test_verify_tamper.py",
            "tests/unit/test_forgery.py",
            "tests/unit/test_trust_rules.py",
            "tests/unit/test_checkpoint.py",
        ],
        [
            "_check_signatures",
            "_verify_range",
            "_settle_signatures",
            "_check_line",
            "_check_fields",
            "check_membership",
            "_check_checkpoints",
            "_coverage",
        ],
    ),
}

_SKIP = shutil.ignore_patterns(
    ".git", "mutants", "*.egg-info", "__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache"
)


def _config(module: str, tests: list[str], deselect: list[str]) -> str:
    """The [tool.mutmut] table for one module (appended to the copy's pyproject.toml)."""
    skip = [arg for node in deselect for arg in ("--deselect", node)]
    lines = [
        "",
        "[tool.mutmut]",
        'source_paths = ["irkit"]',
        f"only_mutate = [{json.dumps(module)}]",
        f"pytest_add_cli_args_test_selection = {json.dumps(tests)}",
        # -x: one failing test kills the mutant; no cache files in the copy
        f"pytest_add_cli_args = {json.dumps(['-x', '-q', '-p', 'no:cacheprovider', *skip])}",
        "use_git_change_detection = false",
        "",
    ]
    return "\n".join(lines)


def _verdicts(copy: Path, module: str) -> dict[str, str]:
    """mutant name -> mutmut's verdict, read from the run's own record of exit codes."""
    from mutmut.stats import status_by_exit_code

    meta = json.loads((copy / "mutants" / f"{module}.meta").read_text())
    return {k: status_by_exit_code[v] for k, v in meta["exit_code_by_key"].items()}


def run_one(
    key: str, workdir: Path, max_children: int, after: Path | None, deselect: list[str]
) -> dict[str, str]:
    """Mutate one module in a fresh copy of the tree; with AFTER (an earlier --keep folder
    whose copy of the module is byte-identical), re-test only that run's survivors."""
    module, tests, functions = TARGETS[key]
    dotted = module.removesuffix(".py").replace("/", ".")
    # mutmut names a function's mutants <module>.x_<function>__mutmut_<n> (methods: xǁClassǁ…)
    globs = [f"{dotted}.x_{f}__mutmut_*" for f in functions] if functions else [f"{dotted}.*"]
    extra = sorted(
        str(p.relative_to(ROOT)) for p in ROOT.glob(f"tests/unit/test_mutants_{key}*.py")
    )

    def chosen(verdicts: dict[str, str]) -> dict[str, str]:
        return {k: v for k, v in verdicts.items() if any(fnmatchcase(k, g) for g in globs)}

    kept = after / key if after else None
    if kept and (ROOT / module).read_bytes() == (kept / module).read_bytes():
        earlier = chosen(_verdicts(kept, module))
        return _retest(kept, earlier, tests + extra, deselect, max_children)
    if kept:
        print(f"!! {module} changed since {kept}: mutating it afresh", flush=True)
    copy = workdir / key
    if copy.exists():
        shutil.rmtree(copy)
    shutil.copytree(ROOT, copy, ignore=_SKIP)
    pyproject = copy / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + _config(module, tests + extra, deselect))
    subprocess.run(
        [sys.executable, "-m", "mutmut", "run", "--max-children", str(max_children), *globs],
        cwd=copy,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return chosen(_verdicts(copy, module))


def _retest(
    kept: Path, earlier: dict[str, str], tests: list[str], deselect: list[str], children: int
) -> dict[str, str]:
    """The earlier run's survivors against the tests its selection lacked (new killer tests,
    files added to TARGETS since): tests are only ever added, so what was killed stays
    killed. Each survivor runs in the kept copy with mutmut's switch, MUTANT_UNDER_TEST."""
    import os
    import tomllib
    from concurrent.futures import ThreadPoolExecutor

    old = tomllib.loads((kept / "pyproject.toml").read_text())["tool"]["mutmut"]
    new = [t for t in tests if t not in old["pytest_add_cli_args_test_selection"]]
    for test in new:
        shutil.copy2(ROOT / test, kept / "mutants" / test)
    skip = [arg for node in deselect for arg in ("--deselect", node)]
    pytest = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *skip, *new]

    def verdict(name: str) -> str:
        try:
            run = subprocess.run(
                pytest,
                cwd=kept / "mutants",
                env={**os.environ, "MUTANT_UNDER_TEST": name},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=60,  # a test file runs in seconds; a mutant that loops forever
            )
        except subprocess.TimeoutExpired:
            return "timeout"
        if run.returncode not in (0, 1):
            raise SystemExit(f"pytest exited {run.returncode} on {name}: run it by hand")
        return "killed" if run.returncode == 1 else earlier[name]

    # "not checked": the earlier run was stopped before it reached them
    todo = [k for k, v in sorted(earlier.items()) if v in ("survived", "no tests", "suspicious")]
    if not new or not todo:
        return dict(earlier)
    with ThreadPoolExecutor(max(1, children)) as pool:
        return {**earlier, **dict(zip(todo, pool.map(verdict, todo), strict=True))}


def summary(verdicts: dict[str, str]) -> dict[str, int]:
    s = {"killed": 0, "survived": 0, "no tests": 0, "timeout": 0, "suspicious": 0}
    for v in verdicts.values():
        if v != "not checked":  # an interrupted run: left out of the count
            s[v if v in s else "suspicious"] += 1
    return s


def score(s: dict[str, int]) -> float:
    tested = s["killed"] + s["survived"] + s["timeout"] + s["suspicious"]
    return 100.0 * (s["killed"] + s["timeout"]) / tested if tested else 0.0


def _row(name: str, s: dict[str, int]) -> str:
    return (
        f"{name:<12} {sum(s.values()):>7} {s['killed'] + s['timeout']:>6} {s['survived']:>8}"
        f" {s['no tests']:>8} {score(s):>5.1f}%"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", metavar="MODULE", help=", ".join(TARGETS))
    parser.add_argument("--max-children", type=int, default=1)
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    parser.add_argument("--after", type=Path, help="re-test only the survivors of a kept run")
    parser.add_argument("--survivors", action="store_true", help="list surviving mutants")
    parser.add_argument(
        "--deselect",
        action="append",
        default=[],
        metavar="NODEID",
        help="leave out a test that fails on the unmutated tree (mutmut needs a green start)",
    )
    args = parser.parse_args()
    keys = args.modules or list(TARGETS)
    unknown = [k for k in keys if k not in TARGETS]
    if unknown:
        parser.error(f"unknown module {', '.join(unknown)} (choose from {', '.join(TARGETS)})")
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="irkit-mutation-"))
    workdir.mkdir(parents=True, exist_ok=True)
    total: dict[str, int] = {}
    for node in args.deselect:
        print(f"!! deselected (fails unmutated): {node}")
    print(
        f"{'module':<12} {'mutants':>7} {'killed':>6} {'survived':>8} {'no tests':>8} {'score':>6}"
    )
    try:
        for key in keys:
            verdicts = run_one(key, workdir, args.max_children, args.after, args.deselect)
            s = summary(verdicts)
            for k, n in s.items():
                total[k] = total.get(k, 0) + n
            print(_row(key, s), flush=True)
            if args.survivors:
                for name, v in sorted(verdicts.items()):
                    if v in ("survived", "no tests", "suspicious"):
                        print(f"    {v}: {name}", flush=True)
        print(_row("total", total))
    finally:
        if args.keep is None:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
