"""Mutation testing of the core modules with mutmut 3: ``python tools/mutate.py [MODULE ...]``.

Each module (default: the nine core ones) is mutated in a scratch copy of the project under
``.mutation/`` (the working tree is never touched); mutmut runs, for each mutant, the tests that
reach the mutated function. The table gives per module: mutants, killed, survived, timeouts
(counted as killed: the suite noticed), mutants no test reaches, the equivalent mutants listed
in ``tools/equivalent_mutants.txt`` (excluded), and the score

    killed / (mutants - equivalents)

Options: ``--jobs N`` (parallel mutants, default the CPU count), ``--survivors`` (print each
surviving mutant's diff), ``--keep`` (reuse the scratch copy: mutmut then re-runs only mutants
whose function changed), ``--recheck`` (with ``--keep``: run the surviving mutants again, after
adding tests; mutmut otherwise keeps every earlier verdict).
"""

from __future__ import annotations

import argparse
import os
import pathlib
import re
import shutil
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
CORE = ("_ratelimit", "_http", "_validate", "_secrets", "_journal", "_fanout", "_auth",
        "_transport", "_receiver")  # fmt: skip
EQUIVALENTS = ROOT / "tools" / "equivalent_mutants.txt"
KILLED = {"killed", "timeout", "caught by type check"}
#: Tests left out: they drive the installed package in another process (the CLI's subprocess
#: and terminal tests, the examples, the docs build, the suite's own rules), so no mutant of a
#: core module can reach them.
_SKIP = ", ".join(
    f'"{a}"'
    for a in (
        "--ignore=tests/test_cli_terminal.py",
        "--ignore=tests/test_cli.py",
        "--ignore=tests/test_suite_rules.py",
        "--ignore=tests/test_examples.py",
        "--ignore=tests/test_docs.py",
        "-k",
        "not subprocess and not in_the_emulator_process and not loopback and not example_test_file",
    )
)
#: What the tests read besides the package (the docs' tables, the examples, the benchmarks).
_ALSO = ("tests", "docs", "examples", "benchmarks", "README.md", "CHANGELOG.md", "mkdocs.yml")


def equivalents() -> dict[str, str]:
    """Mutant name -> why it is equivalent (one per line: ``name  # reason``)."""
    found = {}
    for line in EQUIVALENTS.read_text().splitlines():
        name, _, why = line.partition("#")
        if name.strip():
            found[name.strip()] = why.strip()
    return found


def prepare(workdir: pathlib.Path, modules: list[str], keep: bool) -> None:
    if workdir.exists() and not keep:
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    for name in ("kaizala_async", *_ALSO):
        source, target = ROOT / name, workdir / name
        if source.is_dir():
            shutil.copytree(source, target, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("__pycache__", "*.db"))  # fmt: skip
        elif source.is_file():
            shutil.copy2(source, target)
    only = ", ".join(f'"kaizala_async/{m}.py"' for m in modules)
    config = (
        (ROOT / "pyproject.toml").read_text()
        + f"""

[tool.mutmut]
source_paths = ["kaizala_async/"]
only_mutate = [{only}]
also_copy = [{", ".join(f'"{n}"' for n in _ALSO if n != "tests")}]
pytest_add_cli_args = ["-p", "no:randomly", "-p", "no:cacheprovider", "-q", "-x", "--timeout=30", {_SKIP}]
"""
    )
    (workdir / "pyproject.toml").write_text(config)


def statuses(workdir: pathlib.Path, mutmut: str) -> dict[str, str]:
    out = subprocess.run([mutmut, "results", "--all", "true"], cwd=workdir, text=True,  # noqa: S603
                         capture_output=True, check=True).stdout  # fmt: skip
    found = {}
    for line in out.splitlines():
        name, sep, status = line.strip().rpartition(": ")
        if sep and name.startswith("kaizala_async."):
            found[name] = status
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python tools/mutate.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("modules", nargs="*", default=list(CORE), metavar="MODULE",
                        help="module names such as _validate (default: the nine core modules)")  # fmt: skip
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--survivors", action="store_true", help="print each survivor's diff")
    parser.add_argument("--keep", action="store_true", help="reuse the scratch copy")
    parser.add_argument("--workdir", default=".mutation",
                        help="scratch copy, relative to the project (default .mutation)")  # fmt: skip
    parser.add_argument("--recheck", action="store_true",
                        help="with --keep: run the earlier survivors again (new tests)")  # fmt: skip
    args = parser.parse_args(argv)
    if args.recheck and not args.keep:
        parser.error("--recheck needs --keep (it re-runs the survivors of the kept copy)")
    modules = [m.removesuffix(".py").rpartition("/")[2] for m in args.modules]
    for module in modules:
        if not (ROOT / "kaizala_async" / f"{module}.py").is_file():
            parser.error(f"no module kaizala_async/{module}.py")
    mutmut = shutil.which("mutmut") or str(pathlib.Path(sys.executable).parent / "mutmut")
    workdir = ROOT / args.workdir
    again: list[str] = []
    if args.recheck:
        known = equivalents()
        again = [n for n, s in statuses(workdir, mutmut).items()
                 if s not in KILLED and s != "no tests" and n not in known
                 and any(n.startswith(f"kaizala_async.{m}.") for m in modules)]  # fmt: skip
        if not again:
            print("no survivor to check again")
    prepare(workdir, modules, args.keep)
    command = [mutmut, "run", "--max-children", str(args.jobs), *again]
    run = subprocess.run(command, cwd=workdir)  # noqa: S603
    if run.returncode not in (0, 1):
        return run.returncode
    found = statuses(workdir, mutmut)
    if not found or all(status == "not checked" for status in found.values()):
        print("mutmut checked no mutant (see its output above)", file=sys.stderr)
        return 2
    known = equivalents()
    print(f"\n{'module':<12} {'mutants':>7} {'killed':>6} {'survived':>8} {'no tests':>8} "
          f"{'equivalent':>10} {'score':>7}")  # fmt: skip
    worst = 100.0
    for module in modules:
        prefix = f"kaizala_async.{module}."
        mine = {n: s for n, s in found.items() if n.startswith(prefix)}
        equivalent = [n for n in mine if n in known]
        killed = sum(s in KILLED for n, s in mine.items() if n not in known)
        survived = [n for n, s in mine.items() if s not in KILLED and n not in known]
        no_tests = sum(s == "no tests" for n, s in mine.items() if n not in known)
        counted = len(mine) - len(equivalent)
        score = 100.0 * killed / counted if counted else 100.0
        worst = min(worst, score)
        print(f"{module:<12} {len(mine):>7} {killed:>6} {len(survived) - no_tests:>8} "
              f"{no_tests:>8} {len(equivalent):>10} {score:>6.1f}%")  # fmt: skip
        if args.survivors:
            for name in survived:
                shown = subprocess.run([mutmut, "show", name], cwd=workdir, text=True,  # noqa: S603
                                       capture_output=True).stdout  # fmt: skip
                print(re.sub(r"\n{2,}", "\n", shown))
    return 0 if worst >= 90.0 else 3


if __name__ == "__main__":
    raise SystemExit(main())
