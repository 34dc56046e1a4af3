"""The suite's own rules: a test that hangs fails within the per-test limit, and the limit is set."""

from __future__ import annotations

import subprocess
import sys
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).parents[1]


def test_a_hanging_test_fails_within_the_per_test_limit(tmp_path: Path) -> None:
    hanging = tmp_path / "test_hangs.py"
    hanging.write_text(
        "import asyncio\n\n\nasync def test_never_ends() -> None:\n"
        "    await asyncio.Event().wait()\n"
    )
    start = time.monotonic()
    result = subprocess.run(  # noqa: S603 (our interpreter, our file)
        [sys.executable, "-m", "pytest", str(hanging), "-q", "-p", "no:randomly",
         "-p", "no:cacheprovider", "--timeout=2", f"--rootdir={ROOT}", "-c", str(ROOT / "pyproject.toml")],
        capture_output=True, text=True, timeout=120, check=False, cwd=ROOT,
    )  # fmt: skip
    took = time.monotonic() - start
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Timeout" in result.stdout + result.stderr
    assert took < 60


def test_the_per_test_limit_is_configured_well_above_the_slowest_test() -> None:
    options = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert options["timeout"] == 300  # the slowest test takes seconds


def test_a_quiet_run_names_its_random_seed_so_ci_can_replay_it() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/test_exports.py", "-q", "-p", "randomly",
         "--randomly-seed=4711", "-p", "no:cacheprovider"],
        capture_output=True, text=True, timeout=120, check=False, cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "random order: replay it with -p randomly --randomly-seed=4711" in result.stdout


def test_the_virtual_clock_stands_still_while_a_worker_thread_works() -> None:
    """A timer armed for later must not fire while a file is written in a worker thread: the
    virtual-time loop waits for the thread for real instead of jumping to the timer."""
    import asyncio

    import anyio.to_thread

    from .vtime import run_virtual

    async def main() -> tuple[float, bool]:
        loop = asyncio.get_running_loop()
        fired: list[float] = []
        loop.call_later(60.0, lambda: fired.append(loop.time()))
        start = loop.time()
        await anyio.to_thread.run_sync(time.sleep, 0.05)  # 50 ms of real work
        return loop.time() - start, bool(fired)

    elapsed, fired = run_virtual(main)
    assert not fired and elapsed < 0.01


def test_every_package_module_has_a_mutation_test_set_of_files_that_exist() -> None:
    """`tools/mutate.py` names test files for every module of the package (a new module
    without a set would never be measured), and every file it names exists."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("mutate", ROOT / "tools" / "mutate.py")
    assert spec is not None and spec.loader is not None
    mutate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mutate)
    modules = set()
    for path in (ROOT / "kaizala_async").rglob("*.py"):
        parts = list(path.relative_to(ROOT / "kaizala_async").with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1] or ["__init__"]
        modules.add(".".join(parts))
    assert modules == set(mutate.TESTS)
    named = {name for files in mutate.TESTS.values() for name in files}
    assert [name for name in sorted(named) if not (ROOT / "tests" / name).is_file()] == []
