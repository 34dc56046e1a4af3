"""``kaizala fanout``'s helpers (``cli._fanout``) on their own: reading the group list, choosing
the journal, the progress display on and off a terminal, and the problem rows of a report."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from kaizala_async import Failed, FanOutProgress, RedisJournal, Unknown, ValidationError
from kaizala_async.cli import _fanout


def progress(
    done: int, elapsed: float, *, sent: int | None = None, in_flight: int = 0
) -> FanOutProgress:
    return FanOutProgress(
        done=done,
        sent=done if sent is None else sent,
        failed=0,
        skipped=0,
        unknown=0,
        in_flight=in_flight,
        elapsed=elapsed,
    )


class Stats:
    throttled = 2


class Client:
    stats = Stats()


# -- the group list ----------------------------------------------------------------------------


def test_groups_are_read_one_a_line_stripped_blank_lines_skipped(tmp_path: Path) -> None:
    source = tmp_path / "groups.txt"
    source.write_text("  g1 \n\n\t\ng2\n g3", encoding="utf-8")
    assert list(_fanout._read_groups(str(source))) == ["g1", "g2", "g3"]


def test_a_dash_reads_the_groups_from_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("a\n \n b \n"))
    assert list(_fanout._read_groups("-")) == ["a", "b"]


def test_groups_are_read_lazily(tmp_path: Path) -> None:
    source = tmp_path / "groups.txt"
    source.write_text("g1\ng2\n", encoding="utf-8")
    lines = _fanout._read_groups(str(source))
    source.unlink()  # the file is opened on the first read, not before
    with pytest.raises(FileNotFoundError):
        next(lines)


# -- the journal -------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [None, "run.db", "/srv/journals/redis.db"])
def test_a_journal_that_is_not_a_redis_url_is_a_path(value: str | None) -> None:
    assert _fanout._journal(value) == value


@pytest.mark.parametrize(
    "url",
    [
        "redis://cache:6379/0#spring",
        "rediss://cache:6380/1#spring",
        "unix:///run/redis.sock#spring",
    ],
)
def test_a_redis_url_is_a_shared_campaign(url: str) -> None:
    journal = _fanout._journal(url)
    assert isinstance(journal, RedisJournal)


def test_a_redis_url_without_a_campaign_is_refused() -> None:
    with pytest.raises(ValidationError):
        _fanout._journal("redis://cache:6379/0")


# -- the progress display ----------------------------------------------------------------------


def test_off_a_terminal_a_plain_line_every_five_seconds(capsys: pytest.CaptureFixture[str]) -> None:
    display = _fanout._FanOutDisplay(10, False, Client())  # type: ignore[arg-type]
    with display:
        for done, elapsed in [(1, 1.0), (2, 4.9), (3, 5.0), (4, 9.9), (5, 10.0)]:
            display.update(progress(done, elapsed, in_flight=1))
    lines = capsys.readouterr().err.splitlines()
    assert lines == ["3 done, 3 sent, 1 in flight, 0.6/s", "5 done, 5 sent, 1 in flight, 0.5/s"]


def test_on_a_terminal_the_bar_starts_with_the_first_progress_and_stops_at_the_end() -> None:
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=120)
    display = _fanout._FanOutDisplay(4, True, Client(), console)  # type: ignore[arg-type]
    with display:
        assert screen.getvalue() == ""  # nothing drawn before the first progress
        display.update(progress(2, 1.0, in_flight=3))
        display.update(progress(4, 2.0))
    shown = screen.getvalue()
    assert "sending" in shown and "4/4" in shown and "429s 2" in shown
    final = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", shown).replace("\r", "\n").splitlines()
    drawn = [line for line in final if line.strip()]
    assert re.fullmatch(r"sending .* 4/4 2\.0/s .* 429s 2  in flight 0\s*", drawn[-1]), drawn[-1]
    assert re.fullmatch(r"sending .* 0/4 0\.0/s .* 429s 0  in flight 0\s*", drawn[0]), drawn[0]


def test_a_bar_never_started_is_not_stopped() -> None:
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=120)
    with _fanout._FanOutDisplay(4, True, Client(), console):  # type: ignore[arg-type]
        pass
    assert screen.getvalue() == ""


# -- the problems of a report ------------------------------------------------------------------


class Report:
    def __init__(self, failures: list[Any], unknowns: list[Any]) -> None:
        self.failures, self.unknowns = failures, unknowns


def test_an_unknowns_reason_names_this_commands_option() -> None:
    unknown = Unknown(group_id="g7", reason="timed out after sending; resend=[...] resends it")
    assert _fanout._reason(unknown) == "timed out after sending; --resend g7 resends it"


def test_problems_are_one_tab_separated_row_each_off_a_terminal(
    capsys: pytest.CaptureFixture[str],
) -> None:
    report = Report(
        [Failed(group_id="g1", error=ValidationError("text", "too long"), retriable=False)],
        [Unknown(group_id="g2", reason="cancelled while in flight")],
    )
    _fanout._print_problems(report)
    assert capsys.readouterr().out.splitlines() == [
        "g1\tfailed\ttext: too long",
        "g2\tunknown\tcancelled while in flight",
    ]


def test_a_problem_row_keeps_its_tabs_and_shows_control_characters(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Printed through the console, the tabs themselves came out as "\x09": one column for `cut`.
    _fanout._print_problems(Report([], [Unknown(group_id="g\x1b[2J", reason="a\tb")]))
    assert capsys.readouterr().out == "g\\x1b[2J\tunknown\ta\\x09b\n"


def test_no_problem_prints_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    _fanout._print_problems(Report([], []))
    assert capsys.readouterr().out == ""


def test_on_a_terminal_problems_are_a_table(monkeypatch: pytest.MonkeyPatch) -> None:
    screen = io.StringIO()
    monkeypatch.setattr(_fanout, "out", Console(file=screen, force_terminal=True, width=120))
    _fanout._print_problems(Report([], [Unknown(group_id="g2", reason="lost")]))
    shown = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen.getvalue())
    assert all(
        re.search(rf"\b{word}\b", shown) for word in ("group", "outcome", "why", "g2", "lost")
    )
