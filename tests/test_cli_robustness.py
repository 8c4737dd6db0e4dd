"""The ``ttvkit`` command under hostile conditions: Ctrl-C, odd stdouts, odd files.

Each case is one the command once answered with a traceback; docs/cli.md
promises exit 2 with one line ``ttvkit: error: ...`` for a user error, and
exit 130 for Ctrl-C.
"""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import duckdb
import pytest

from ttvkit.stores.duckdb.engine import is_interrupt, keyboard_interrupts

from .test_cli import assert_user_error

SCRIPT = Path(sys.executable).parent / "ttvkit"


def ttvkit(
    *args: str, cwd: Path, env: dict[str, str] | None = None, closed_stdout: bool = False
) -> subprocess.CompletedProcess[str]:
    command = [str(SCRIPT), *args]
    if closed_stdout:  # as a cron job or a supervisor may run it: ttvkit ... >&-
        command = ["sh", "-c", 'exec "$@" >&-', "sh", *command]
    return subprocess.run(
        command,
        cwd=cwd,
        capture_output=not closed_stdout,
        stderr=subprocess.PIPE if closed_stdout else None,
        text=True,
        encoding="utf-8",
        timeout=120,
        check=False,
        env={**os.environ, **(env or {})},
    )


def _events(path: Path, names: list[str]) -> Path:
    """Three users who sign up, then do each of *names* an hour later."""
    with path.open("w", encoding="utf-8") as f:
        for u in range(3):
            day = f"2025-01-0{u + 1}"
            rows = [("signup", "00"), *((name, "01") for name in names)]
            for name, hour in rows:
                event = {"user_id": f"u{u}", "name": name, "timestamp": f"{day}T{hour}:00:00Z"}
                f.write(json.dumps(event) + "\n")
    return path


@pytest.fixture
def events(tmp_path: Path) -> Path:
    return _events(tmp_path / "events.jsonl", ["report_created"])


# -- 1. Ctrl-C ---------------------------------------------------------------------------


def _busy_csv(path: Path, users: int = 150_000) -> Path:
    """A CSV large enough that DuckDB works on it for a few seconds."""
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["user_id", "name", "timestamp", "properties"])
        for u in range(users):
            day = f"2025-02-{u % 28 + 1:02d}"
            out.writerow([f"u{u}", "signup", f"{day}T00:00:00Z", '{"plan": "free"}'])
            out.writerow([f"u{u}", "report_created", f"{day}T{u % 24:02d}:{u % 60:02d}:00Z", "{}"])
            out.writerow([f"u{u}", "other", f"{day}T{(u + 3) % 24:02d}:00:00Z", "{}"])
    return path


def _reading(pid: int, path: Path) -> bool:
    """Whether process *pid* has *path* open (Linux); elsewhere, after a pause, yes."""
    fds = Path(f"/proc/{pid}/fd")
    if not fds.is_dir():
        time.sleep(3)
        return True
    for fd in fds.iterdir():
        try:
            if Path(os.readlink(fd)) == path:
                return True
        except OSError:
            continue
    return False


def test_ctrl_c_while_duckdb_reads_a_file_exits_130(tmp_path: Path) -> None:
    source = _busy_csv(tmp_path / "busy.csv").resolve()
    interrupted = 0
    for pause in (0.5, 0.2, 1.0):  # how long to let DuckDB work before Ctrl-C
        process = subprocess.Popen(
            [str(SCRIPT), "report", str(source), "--reached", "report_created"],
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 30
        while process.poll() is None and not _reading(process.pid, source):
            assert time.monotonic() < deadline, "the report never opened its source"
            time.sleep(0.02)
        time.sleep(pause)
        if process.poll() is not None:  # done before Ctrl-C: nothing to test this time
            _, err = process.communicate(timeout=60)
            assert process.returncode == 0, err
            continue
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
        assert "Traceback" not in err, err
        assert err.splitlines()[-1:] == ["ttvkit: interrupted"], err
        assert process.returncode == 130
        interrupted += 1
        if interrupted == 2:
            break
    assert interrupted, "every report finished before Ctrl-C; make the file larger"


def test_duckdb_interrupts_are_keyboard_interrupts() -> None:
    for exc in (duckdb.InterruptException("INTERRUPT Error"), RuntimeError("Query interrupted")):
        assert is_interrupt(exc)
        with pytest.raises(KeyboardInterrupt), keyboard_interrupts():
            raise exc
    with pytest.raises(RuntimeError, match="other"), keyboard_interrupts():
        raise RuntimeError("other")
    with pytest.raises(duckdb.CatalogException), keyboard_interrupts():
        raise duckdb.CatalogException("no such table")


@pytest.mark.parametrize("module", ["ttvkit.cli._main", "ttvkit.calculators", "ttvkit.report"])
def test_ctrl_c_while_the_command_is_importing_exits_130(tmp_path: Path, module: str) -> None:
    """A Ctrl-C in the half second the command's modules take to import: a finder raises
    KeyboardInterrupt when *module* is imported, as the signal would at that moment."""
    code = (
        "import sys\n"
        "class Interrupt:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        f"        if name == {module!r}:\n"
        "            raise KeyboardInterrupt\n"
        "sys.meta_path.insert(0, Interrupt())\n"
        "from ttvkit.cli import main\n"  # what the console script does
        "sys.exit(main(['demo', '--users', '20']))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=120
    )
    assert "Traceback" not in result.stderr, result.stderr
    assert result.stderr.splitlines() == ["ttvkit: interrupted"], result.stderr
    assert result.returncode == 130
    assert result.stdout == ""


# -- 2. JSON on a stdout that is not UTF-8 -----------------------------------------------


def test_json_on_an_ascii_stdout_is_still_json(tmp_path: Path) -> None:
    name = "café 🎉"
    source = _events(tmp_path / "cafe.jsonl", [name])
    result = ttvkit(
        "report",
        str(source),
        "--reached",
        name,
        "--format",
        "json",
        cwd=tmp_path,
        env={"PYTHONIOENCODING": "ascii"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.isascii()
    assert "\\u00e9" in result.stdout  # JSON's escape, not Python's \xe9
    report = json.loads(result.stdout)
    assert name in json.dumps(report, ensure_ascii=False)


def test_text_report_on_an_ascii_stdout_keeps_its_columns(tmp_path: Path) -> None:
    """stdout writes Δ as \\u0394 (six columns): the report is laid out for that, so
    the levers' table still lines up under its header."""
    result = ttvkit("demo", "--users", "300", cwd=tmp_path, env={"PYTHONIOENCODING": "ascii"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.isascii()
    lines = result.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("  intervention "))
    assert "\\u0394 within" in lines[header]
    table = [lines[header]]
    for line in lines[header + 1 :]:
        if not line.startswith("  "):
            break
        table.append(line)
    assert len(table) >= 3, table  # the header and the three levers
    # The last column ("significant": yes/no) is right-aligned: every line ends together.
    assert len({len(line) for line in table}) == 1, table


# -- 3. init with control characters -----------------------------------------------------


@pytest.mark.parametrize("bad", ["esc\x1b[31m", "car\rret", "del\x7f", "line\nbreak", 'q"\\'])
def test_init_escapes_control_characters(tmp_path: Path, bad: str) -> None:
    source = _events(tmp_path / "ctl\x1b[2J\n\x7f.jsonl", [bad])
    result = ttvkit("init", str(source), "--print", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    for raw in ("\x1b", "\r", "\x7f"):
        assert raw not in result.stdout
    config = tomllib.loads(result.stdout)
    reached = [m["reached"] for m in config["milestones"].values()]
    assert bad in reached
    assert "\\x1b[2J\\n\\x7f.jsonl" in result.stdout  # the path, in the comments


# -- 4. durations too long for a timedelta ------------------------------------------------


def test_window_too_long_on_the_command_line(events: Path) -> None:
    result = ttvkit(
        "report", str(events), "--reached", "report_created", "--window", "99999999999d",
        cwd=events.parent,
    )  # fmt: skip
    assert_user_error(result, "--window", "99999999999d")


@pytest.mark.parametrize(
    ("toml", "key"),
    [
        ('[milestones.a]\nreached = "x"\nwindow = { days = 1e300 }\n', "milestones.a.window"),
        ('[milestones.a]\nreached = "x"\nwindow = "99999999999d"\n', "milestones.a.window"),
        ('[milestones.a]\nreached = "x"\n[analysis]\nwithin = "99999999999d"\n', "analysis.within"),
        (
            '[milestones.a]\nreached = "x"\n[analysis]\nlandmark = { weeks = inf }\n',
            "analysis.landmark",
        ),
        (
            '[milestones.a]\nreached = "x"\n[bands]\nimmediate = "5m"\nshort = "99999999999d"\n',
            "bands",
        ),
    ],
)
def test_duration_too_long_in_the_configuration(events: Path, toml: str, key: str) -> None:
    (events.parent / "long.toml").write_text(toml, encoding="utf-8")
    result = ttvkit("report", str(events), "--config", "long.toml", cwd=events.parent)
    assert_user_error(result, "long.toml", key)


# -- 5. a configuration that is not UTF-8 -------------------------------------------------


def test_configuration_not_utf8(events: Path) -> None:
    (events.parent / "latin1.toml").write_bytes(b'[milestones.a]\nreached = "caf\xe9"\n')
    result = ttvkit("report", str(events), "--config", "latin1.toml", cwd=events.parent)
    assert_user_error(result, "latin1.toml", "UTF-8")


# -- 6. a closed stdout --------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("demo", "--print-config"),
        ("demo", "--users", "20"),
        ("report", "events.jsonl", "--reached", "report_created"),
        ("report", "events.jsonl", "--reached", "report_created", "--format", "json"),
        ("init", "events.jsonl", "--print"),
    ],
)
def test_closed_stdout_is_a_user_error(events: Path, args: tuple[str, ...]) -> None:
    result = ttvkit(*args, cwd=events.parent, closed_stdout=True)
    assert_user_error(result, "stdout", "closed")


def test_closed_stdout_is_refused_before_the_demo_runs(tmp_path: Path) -> None:
    started = time.monotonic()
    result = ttvkit("demo", "--users", "2000", cwd=tmp_path, closed_stdout=True)
    assert_user_error(result, "stdout")
    assert "loading" not in result.stderr
    assert time.monotonic() - started < 30


@pytest.mark.parametrize("output", ["", "  "])
def test_an_empty_output_path_is_a_user_error(events: Path, output: str) -> None:
    # It used to write to stdout quietly, as if no --output were given.
    result = ttvkit(
        "report", "events.jsonl", "--reached", "report_created", "-o", output, cwd=events.parent
    )
    assert_user_error(result, "--output", "names no file")


# -- 7. configuration mistakes name the file and the key ----------------------------------


@pytest.mark.parametrize(
    ("toml", "fragments"),
    [
        (
            '[milestones.a]\nreached = "report_created"\n[analysis]\njourney = ["a", "a"]\n',
            ("analysis.journey", "'a'", "twice"),
        ),
        (
            '[milestones.a]\nreached = "report_created"\n[satisfaction]\nmilestone = "a"\n',
            ("satisfaction", "[bands]"),
        ),
    ],
)
def test_configuration_mistakes_name_the_file(
    events: Path, toml: str, fragments: tuple[str, ...]
) -> None:
    (events.parent / "mistake.toml").write_text(toml, encoding="utf-8")
    result = ttvkit("report", str(events), "--config", "mistake.toml", cwd=events.parent)
    assert_user_error(result, "mistake.toml: ", *fragments)


# -- 8. --engine spark on a file that is not Parquet ---------------------------------------


@pytest.mark.parametrize("name", ["tiny.csv", "tiny.jsonl", "tiny.events"])
def test_spark_refuses_a_file_that_is_not_parquet_before_starting(
    tmp_path: Path, name: str
) -> None:
    (tmp_path / name).write_text(
        "user_id,name,timestamp\nu1,signup,2025-01-01T00:00:00Z\n", encoding="utf-8"
    )
    # With no Java to start, a Spark session could only fail: the refusal comes first.
    env = {"JAVA_HOME": str(tmp_path / "no-java"), "PATH": str(Path(sys.executable).parent)}
    started = time.monotonic()
    result = ttvkit("report", name, "--reached", "x", "--engine", "spark", cwd=tmp_path, env=env)
    assert_user_error(result, "--engine spark reads Parquet", name)
    assert time.monotonic() - started < 15


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_redrawn_progress_lines_fit_the_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    # "\r\x1b[K" clears one row: a line wider than the terminal would leave rows behind.
    from ttvkit.cli._output import Progress, SectionProgress

    monkeypatch.setenv("COLUMNS", "40")
    stream = _Terminal()
    label = "loading the demo log into SQLite"
    with Progress(label, total=20_000, unit="users", stream=stream) as progress:
        time.sleep(0.15)  # a terminal's line is redrawn at most ten times a second
        progress.update(5_000)
        progress.finish(20_000, ", 206,000 events")
    with SectionProgress(stream) as section:
        section("Time to first report: the distribution of the primary milestone")
    update, finish, computing = [p for p in stream.getvalue().split("\r\x1b[K") if p]
    # The label gives way before the figures: the count is what a narrow terminal shows.
    assert len(update) <= 39 and update.endswith(" 25.0% 5,000/20,000 users"), update
    assert len(computing) <= 39 and computing.startswith("ttvkit: computing Time"), computing
    assert finish.endswith(", 206,000 events\n")  # the last line is whole: never redrawn


@pytest.mark.parametrize("columns", [80, 100, 60])
def test_a_progress_line_narrows_its_bar_before_cutting_its_figures(
    monkeypatch: pytest.MonkeyPatch, columns: int
) -> None:
    from ttvkit.cli._output import Progress

    monkeypatch.setenv("COLUMNS", str(columns))
    stream = _Terminal()
    with Progress(
        "loading the demo log into SQLite", total=20_000, unit="users", stream=stream
    ) as p:
        time.sleep(0.15)
        p.update(19_448)
    (update,) = [part.rstrip("\n") for part in stream.getvalue().split("\r\x1b[K") if part]
    assert len(update) <= columns - 1
    assert update.startswith("loading the demo log into SQLite") and update.endswith(
        " 97.2% 19,448/20,000 users"
    ), update
    assert ("[" in update) == (columns >= 80)  # a bar where it fits


def test_sigterm_stops_the_demo_and_removes_its_temporary_database(tmp_path: Path) -> None:
    """timeout(1) and a cancelled CI job send SIGTERM: the demo's temporary files go."""
    import signal
    import subprocess
    import sys
    import time

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    process = subprocess.Popen(
        [sys.executable, "-m", "ttvkit", "demo", "--users", "200000"],
        cwd=tmp_path,
        env={**os.environ, "TMPDIR": str(scratch)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not any(scratch.glob("ttvkit-demo-*/demo.db")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert any(scratch.glob("ttvkit-demo-*/demo.db")), "the demo never started writing"
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130
    assert stderr.endswith("ttvkit: interrupted\n")
    assert list(scratch.iterdir()) == []
