"""Mutation testing of the core modules with mutmut 3: ``python tools/mutate.py [MODULE ...]``.

Each module (default: the core ones) is mutated in a scratch copy of the project under
``.mutation/<module>/`` (the working tree is never touched). A module's promises are checked by
its own test files (``TESTS`` below): for each mutant, mutmut runs those of them that reach the
mutated function. The table gives per module: mutants, killed, survived, timeouts (counted as
killed: the suite noticed), mutants no test reaches, the equivalent or accepted mutants listed in
``tools/equivalent_mutants.txt`` (excluded), and the score

    killed / (mutants - equivalents)

Options: ``--jobs N`` (parallel mutants, default the CPU count), ``--survivors`` (print each
surviving mutant's diff), ``--keep`` (reuse the scratch copy: mutmut then re-runs only mutants
whose function changed), ``--recheck`` (with ``--keep``: run the surviving mutants again, after
adding tests; mutmut otherwise keeps every earlier verdict), ``--report`` (print the table of
the kept copies without running anything).
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import threading

ROOT = pathlib.Path(__file__).resolve().parents[1]
EQUIVALENTS = ROOT / "tools" / "equivalent_mutants.txt"
KILLED = {"killed", "timeout", "caught by type check"}

_FANOUT = ["test_fanout.py", "test_fanout_rules.py", "test_fanout_settle.py", "test_promises.py"]
_TRANSPORT = ["test_transport.py", "test_hostile.py",
              "test_promises.py", "test_options.py", "test_tokens.py", "test_secrets.py",
              "test_telemetry.py", "test_pacing.py", "test_transport_rules.py",
              "emulator/test_emulator_sdk.py", "resources/test_families.py",
              "resources/test_postman_samples.py", "test_bot_view.py", "test_login.py"]  # fmt: skip
#: The core modules and the test files that check each one's promises. (``_fanout_engine`` and
#: ``_outcomes`` were part of ``_fanout`` until it was split; ``_limits`` of ``_ratelimit``.)
_LIMITS = ["test_ratelimit.py", "test_ratelimit_rules.py", "test_pacing.py",
           "test_shared_budget.py", "test_promises.py", "emulator/test_throttle.py"]  # fmt: skip
_RESOURCES = ["resources/test_families.py", "resources/test_validation.py", "resources/test_contract.py",
              "resources/test_postman_samples.py", "test_hostile.py"]  # fmt: skip
#: The command line's in-process test files (``test_cli_terminal.py`` runs `kaizala` in a
#: pseudo-terminal child process, which no mutant reaches: a mutated copy there only fails).
_CLI = ["test_cli.py", "test_hostile_cli.py"]
_EMULATOR = [f"emulator/test_{name}.py" for name in (
    "routes", "emulator_service", "emulator_features", "emulator_content", "emulator_sdk", "gaps", "fuzz",
    "power_automate", "swagger_examples", "throttle")] + ["test_webhooks.py", "test_testing_plugin.py"]  # fmt: skip
TESTS: dict[str, list[str]] = {
    "_ratelimit": _LIMITS,
    "_limits": _LIMITS,
    "_http": ["test_http.py", "test_transport.py", "test_transport_rules.py", "test_hostile.py"],
    "_validate": ["test_validate_rules.py", "resources/test_validation.py", "test_hostile.py"],
    "_secrets": ["test_secrets.py", "test_secrets_rules.py", "test_promises.py",
                 "test_hostile_surfaces.py"],
    "_journal": ["test_journal_rules.py", *_FANOUT, "test_hostile_surfaces.py",
                 "test_redis_journal.py"],
    "_fanout": _FANOUT,
    "_fanout_engine": _FANOUT,
    "_outcomes": _FANOUT,
    "_auth": ["test_tokens.py", "test_auth_rules.py", "test_promises.py", "test_secrets.py",
              "test_login.py", "test_bot_view.py", "test_transport.py"],
    "_transport": _TRANSPORT,
    "_receiver": ["test_receiver_rules.py", "test_webhooks.py", "test_hostile.py",
                  "test_promises.py", "emulator/test_power_automate.py"],
    "_exchange": ["test_exchange_deadlines.py", "test_cancellation.py", "test_transport.py", "test_transport_rules.py",
                  "test_hostile.py", "test_backends.py"],
    "_eventloop": ["test_eventloop_rules.py", "test_backends.py", "test_ratelimit.py",
                   "test_ratelimit_rules.py"],
    "_redis_journal": ["test_redis_journal_rules.py", "test_redis_journal.py"],  # test_fleet's workers are other processes
    "_redis_journal_lua": ["test_redis_journal_rules.py", "test_redis_journal.py"],
    "_token_store": ["test_token_store_rules.py", "test_tokens.py", "test_auth_rules.py",
                     "test_hostile_surfaces.py"],
    "_ledger": _LIMITS,
    "_request_parts": ["test_transport_rules.py", "test_transport.py", "test_hostile.py"],
    "_lane": ["test_lane_rules.py", *_LIMITS],
    "_budget": ["test_budget_rules.py", *_LIMITS],
    "_shared_tenant": ["test_shared_tenant_rules.py", *_LIMITS],
    "_redis": ["test_redis_budget_rules.py", *_LIMITS],
    # The small modules of the call path, the login, the bot view, paging and telemetry.
    "_max_wait": ["test_options_rules.py", "test_options.py", "test_pacing.py", "test_ratelimit_rules.py"],
    "_call": ["test_transport.py", "test_transport_rules.py", "test_options.py"],
    "_options": ["test_options_rules.py", "test_options.py", "test_transport.py", "test_telemetry.py"],
    "_settle": ["test_settle_rules.py", "test_fanout_settle.py", "test_fanout.py", "test_fanout_rules.py"],
    "_paging": ["test_paging_rules.py", "resources/test_families.py", "resources/test_validation.py"],
    "_converter": ["test_converter_rules.py", "resources/test_families.py", "resources/test_postman_samples.py",
                   "test_webhooks.py", "test_hostile.py"],
    "_telemetry": ["test_telemetry_rules.py", "test_telemetry.py", "test_transport.py"],
    "_login": ["test_login_rules.py", "test_login.py", "test_hostile_surfaces.py"],
    "_bot": ["test_bot_rules.py", "test_bot_view.py", "test_auth_rules.py"],
    "_asgi": ["test_asgi_rules.py", "test_webhooks.py", "test_receiver_rules.py", "test_cancellation.py"],
    "_loopback": ["test_asgi_rules.py", "test_cli_listen_rules.py", "emulator/test_main_rules.py",
                  "test_cancellation.py"],
    # The emulator's counting methods (its fidelity to the service's throttle) and the errors.
    # What every resource namespace shares, and the one resource every fan-out sends through.
    "_resources._base": ["resources/test_base_rules.py", "resources/test_families.py",
                         "resources/test_validation.py", "test_options.py"],
    "_resources.messages": ["resources/test_messages_rules.py", "resources/test_families.py", "resources/test_validation.py",
                            "resources/test_contract.py", "resources/test_postman_samples.py",
                            "test_hostile.py", "emulator/test_emulator_content.py",
                            "emulator/test_emulator_features.py"],
    # The other resource namespaces: what each call puts on the wire and what it refuses.
    **{f"_resources.{name}": [f"resources/test_{name}_rules.py", *_RESOURCES, "emulator/test_emulator_features.py",
                              "emulator/test_gaps.py"]
       for name in ("groups", "members", "actions", "admin", "reactions")},
    "_cookieless": ["test_cookieless_rules.py", "test_hostile.py"],
    "testing": ["test_testing_plugin.py"],
    "_client": ["test_client_rules.py", "test_transport.py", "test_transport_rules.py", "test_options.py",
                "test_options_rules.py", "test_bot_view.py", "test_tokens.py", "test_cancellation.py",
                "test_secrets.py", "test_exports.py", "test_fanout.py"],
    # The models: what each body sends and refuses, and how the answers and events are read.
    "_models.actions": ["test_models_rules.py", *_RESOURCES, "resources/test_actions_rules.py"],
    "_models.responses": ["test_models_rules.py", *_RESOURCES, "resources/test_actions_rules.py"],
    "_models.content": ["test_models_rules.py", "resources/test_actions_rules.py", "resources/test_messages_rules.py"],
    "_models.groups": ["test_models_rules.py", "resources/test_members_rules.py", "resources/test_groups_rules.py"],
    "_models.events": ["test_models_rules.py", "test_webhooks.py", "test_receiver_rules.py"],
    # Modules with no function of their own (re-exports, constants, attrs classes): mutmut 3 makes
    # no mutant of them; listed so the table shows each was measured.
    **{name: ["test_exports.py"] for name in ("__init__", "_constants", "webhooks", "_models", "_models.admin",
                                              "cli", "cli.__main__", "emulator._routes", "_resources")},
    # The command line, each module under the three files that run `kaizala` end to end.
    "cli._app": ["test_cli_rules.py", *_CLI],
    "cli._data": ["test_cli_data_rules.py", *_CLI],
    "cli._auth": ["test_cli_auth_rules.py", *_CLI],
    "cli._fanout": ["test_cli_fanout_rules.py", *_CLI],
    "cli._listen": ["test_cli_listen_rules.py", "test_hostile_surfaces.py", *_CLI],
    "cli._demo": ["test_cli_demo_rules.py", *_CLI],
    # The emulator's routes: their fidelity to the service is checked by the emulator's own test
    # files, and each route module's rules on the wire by its own file.
    **{f"emulator._routes.{r}": [f"emulator/test_route_{r}_rules.py", *_EMULATOR] for r in (
        "actions", "bots", "control", "groups", "members", "messages", "reactions", "tenant", "tokens",
        "webhooks")},
    "emulator._throttle": ["emulator/test_throttle_rules.py", "emulator/test_throttle.py", "test_pacing.py"],
    # The emulator's building blocks, each with its own rules first.
    **{f"emulator.{name}": [f"emulator/test{name}_rules.py", *_EMULATOR]
       for name in ("_wire", "_routing", "_faults", "_state", "_network", "_webhooks", "_content",
                    "_actions", "_app")},
    **{key: ["emulator/test_main_rules.py", *_EMULATOR] for key in ("emulator.__main__", "emulator._process")},
    "emulator": ["emulator/test_emulator_rules.py", *_EMULATOR],
    "_errors": ["test_errors_rules.py", "test_http.py", "test_transport.py", "test_transport_rules.py", "test_hostile.py",
                "test_secrets.py"],
}  # fmt: skip
_SPIKES = "tests/test_pacing.py::test_no_429_under_network_spikes_on_the_real_clock"
#: Slow tests whose promise a faster one beside them already checks for that module (run once
#: per mutant, they would make a module's run take hours on two cores): the network-spike test
#: on the real clock (the five in virtual time stay), three saturation shares of six, and the
#: multi-process fleets (their other processes run the unmutated package anyway).
_SLOW_LIMITS = [
    _SPIKES,
    *(f"tests/test_ratelimit.py::test_saturated_connectors_run_at_the_documented_share_of_"
      f"the_binding_limit[{n}]" for n in (2, 4, 6)),
    "tests/test_shared_budget.py::test_redis_killed_mid_run_the_fleet_finishes_on_its_fallback",
    "tests/test_shared_budget.py::test_four_processes_one_with_a_shifted_clock_never_exceed_the_tenant",
]  # fmt: skip
DESELECT: dict[str, list[str]] = {
    **dict.fromkeys(
        ["_ratelimit", "_limits", "_ledger", "_lane", "_budget", "_shared_tenant", "_redis"],
        _SLOW_LIMITS,
    ),
    "_transport": [_SPIKES],
}
#: Tests left out: they drive the package in another process (an emulator served on loopback in
#: a subprocess), so no mutant can reach them.
_SKIP = '"-k", "not subprocess and not in_the_emulator_process and not loopback"'
#: What the tests read besides the package (the docs' tables, the examples, the benchmarks).
_ALSO = ("tests", "docs", "examples", "benchmarks", "README.md", "CHANGELOG.md", "mkdocs.yml")


def equivalents() -> dict[tuple[str, str], str]:
    """(function, change) -> why the mutant making that change is equivalent or accepted.

    One mutant per line: ``function | change | reason``. ``change`` is the mutant's diff, its
    removed and added lines stripped, as :func:`change` writes it. Matching the change, not
    mutmut's mutant number, keeps an entry attached to its mutant when the function's other
    lines change (mutmut renumbers them) and drops it when the mutated line itself changes.
    """
    found = {}
    for line in EQUIVALENTS.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            function, rest = line.split(" | ", 1)  # the change may hold " | " (a union type)
            what, why = rest.rsplit(" | ", 1)  # the reason never does
            found[function.strip(), what.strip()] = why.strip()
    return found


def function_of(name: str) -> str:
    return name.rpartition("__mutmut_")[0]


def change(workdir: pathlib.Path, mutmut: str, name: str) -> str:
    """What the mutant changes: its diff's removed and added lines, stripped, in order."""
    shown = subprocess.run([mutmut, "show", name], cwd=workdir, text=True,  # noqa: S603
                           capture_output=True).stdout  # fmt: skip
    lines = [line for line in shown.splitlines()
             if line[:1] in "+-" and not line.startswith(("+++", "---"))]  # fmt: skip
    return " / ".join(f"{line[0]} {line[1:].strip()}" for line in lines)


def listed(workdir: pathlib.Path, mutmut: str, found: dict[str, str]) -> set[str]:
    """The mutants of ``found`` (name -> status) listed as equivalent: every mutant not killed
    whose function and change are in the list."""
    known = equivalents()
    functions = {function for function, _ in known}
    return {
        name for name, status in found.items()
        if status not in KILLED and status != "not checked" and function_of(name) in functions
        and (function_of(name), change(workdir, mutmut, name)) in known
    }  # fmt: skip


def prepare(workdir: pathlib.Path, module: str, keep: bool) -> None:
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
    tests = ", ".join(f'"tests/{name}"' for name in TESTS[module])
    deselect = "".join(f', "--deselect", "{node}"' for node in DESELECT.get(module, []))
    path = module.replace(".", "/")  # emulator._throttle -> emulator/_throttle
    if (ROOT / "kaizala_async" / path).is_dir():
        path += "/__init__"  # a package: its __init__ module
    config = (
        (ROOT / "pyproject.toml").read_text()
        + f"""

[tool.mutmut]
source_paths = ["kaizala_async/"]
only_mutate = ["kaizala_async/{path}.py"]
also_copy = [{", ".join(f'"{n}"' for n in _ALSO if n != "tests")}]
pytest_add_cli_args_test_selection = [{tests}]
pytest_add_cli_args = ["-p", "no:randomly", "-p", "no:cacheprovider", "-q", "-x", "--timeout=30", {_SKIP}{deselect}]
"""
    )
    (workdir / "pyproject.toml").write_text(config)


def statuses(workdir: pathlib.Path, mutmut: str) -> dict[str, str]:
    if not (workdir / "mutants").is_dir():
        return {}
    out = subprocess.run([mutmut, "results", "--all", "true"], cwd=workdir, text=True,  # noqa: S603
                         capture_output=True, check=True).stdout  # fmt: skip
    found = {}
    for line in out.splitlines():
        name, sep, status = line.strip().rpartition(": ")
        if sep and name.startswith("kaizala_async."):
            found[name] = status
    return found


#: A mutant still running after this many seconds of wall time is hung: it waits on a clock or
#: a socket that never comes (mutmut's own limit counts CPU time, which a sleeping test does not
#: use). It is ended with SIGXCPU, which mutmut records as a timeout, as it does CPU hogs: the
#: suite's per-test limit would fail it in a normal run.
HUNG_AFTER = 150


def _watch(stop: threading.Event) -> None:
    while not stop.wait(5):
        listing = subprocess.run(["ps", "-eo", "pid=,etimes=,args="], text=True,  # noqa: S607
                                 capture_output=True).stdout  # fmt: skip
        for line in listing.splitlines():
            pid, age, command = line.split(None, 2)
            if command.startswith("mutmut: kaizala_async.") and int(age) > HUNG_AFTER:
                print(f"hung, ended as a timeout: {command.split()[1]}", file=sys.stderr)
                os.kill(int(pid), signal.SIGXCPU)


def _mutmut(command: list[str], workdir: pathlib.Path) -> int:
    stop = threading.Event()
    watcher = threading.Thread(target=_watch, args=(stop,), daemon=True)
    watcher.start()
    try:
        return subprocess.run(command, cwd=workdir).returncode  # noqa: S603
    finally:
        stop.set()


def run(module: str, workdir: pathlib.Path, mutmut: str, args: argparse.Namespace) -> int:
    prepare(workdir, module, args.keep)
    if args.recheck:
        # mutmut keeps which tests reach each function from the run that made the copy: tests
        # added since would never be run against the old survivors. Collect them again.
        (workdir / "mutants" / "mutmut-stats.json").unlink(missing_ok=True)
    command = [mutmut, "run", "--max-children", str(args.jobs)]
    code = _mutmut(command, workdir)  # the new and changed code's mutants
    if not args.recheck or code not in (0, 1):
        return code
    found = statuses(workdir, mutmut)
    known = listed(workdir, mutmut, found)
    again = [n for n, s in found.items()
             if s not in KILLED and s != "no tests" and n not in known]  # fmt: skip
    if not again:
        print(f"{module}: no survivor to check again")
        return code
    return _mutmut([*command, *again], workdir)


def _no_mutants(workdir: pathlib.Path) -> bool:
    """Whether mutmut made the module's copy and found no function to mutate in it (a module of
    re-exports, constants or attrs classes; mutmut 3 leaves decorated functions alone)."""
    metas = list((workdir / "mutants").rglob("*.meta"))
    return bool(metas) and all(
        not json.loads(m.read_text())["hash_by_function_name"] for m in metas
    )


def table(modules: list[str], mutmut: str, survivors: bool) -> float:
    print(f"\n{'module':<15} {'mutants':>7} {'killed':>6} {'survived':>8} {'no tests':>8} "
          f"{'equivalent':>10} {'score':>7}")  # fmt: skip
    worst = 100.0
    for module in modules:
        workdir = ROOT / ".mutation" / module
        mine = statuses(workdir, mutmut)
        if not mine and _no_mutants(workdir):
            print(f"{module:<15} {0:>7}  no mutants (no function mutmut mutates)")
            continue
        if not mine or all(status == "not checked" for status in mine.values()):
            print(f"{module:<15} (not measured)")
            worst = 0.0
            continue
        known = listed(workdir, mutmut, mine)
        equivalent = [n for n in mine if n in known]
        killed = sum(s in KILLED for n, s in mine.items() if n not in known)
        survived = [n for n, s in mine.items() if s not in KILLED and n not in known]
        no_tests = sum(s == "no tests" for n, s in mine.items() if n not in known)
        unchecked = sum(s == "not checked" for n, s in mine.items() if n not in known)
        counted = len(mine) - len(equivalent) - unchecked
        score = 100.0 * killed / counted if counted else 100.0
        worst = min(worst, score)
        note = f"  ({unchecked} not checked)" if unchecked else ""
        print(f"{module:<15} {len(mine):>7} {killed:>6} {len(survived) - no_tests - unchecked:>8} "
              f"{no_tests:>8} {len(equivalent):>10} {score:>6.1f}%{note}")  # fmt: skip
        if survivors:
            for name in survived:
                shown = subprocess.run([mutmut, "show", name], cwd=workdir, text=True,  # noqa: S603
                                       capture_output=True).stdout  # fmt: skip
                print(re.sub(r"\n{2,}", "\n", shown))
    return worst


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python tools/mutate.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("modules", nargs="*", default=list(TESTS), metavar="MODULE",
                        help="module names such as _validate (default: every core module)")  # fmt: skip
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--survivors", action="store_true", help="print each survivor's diff")
    parser.add_argument("--keep", action="store_true", help="reuse the scratch copies")
    parser.add_argument("--recheck", action="store_true",
                        help="with --keep: run the earlier survivors again (new tests)")  # fmt: skip
    parser.add_argument("--report", action="store_true", help="only print the kept results")
    args = parser.parse_args(argv)
    if args.recheck and not args.keep:
        parser.error("--recheck needs --keep (it re-runs the survivors of the kept copy)")
    modules = [m.removesuffix(".py").rpartition("/")[2] for m in args.modules]
    for module in modules:
        if module not in TESTS:
            parser.error(f"{module} is not a core module (one of {', '.join(TESTS)})")
    mutmut = shutil.which("mutmut") or str(pathlib.Path(sys.executable).parent / "mutmut")
    if not args.report:
        for module in modules:
            code = run(module, ROOT / ".mutation" / module, mutmut, args)
            if code not in (0, 1):
                return code
    worst = table(modules, mutmut, args.survivors)
    return 0 if worst >= 90.0 else 3


if __name__ == "__main__":
    raise SystemExit(main())
