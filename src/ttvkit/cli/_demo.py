"""``ttvkit demo``: the synthetic SaaS log loaded into SQLite and the full report on it."""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import tomllib
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from urllib.parse import quote

import attrs

from ttvkit import datasets
from ttvkit._format import format_duration
from ttvkit.calculators import DEFAULT_WITHIN
from ttvkit.cli._files import ingest
from ttvkit.cli._output import EXIT_OK, Progress, check_output, write_report, write_stdout
from ttvkit.cli._report import build
from ttvkit.config import Config, parse_config
from ttvkit.errors import ConfigurationError
from ttvkit.events import ValueEvent, trusted_event
from ttvkit.report import Note, Report, Section
from ttvkit.stores import Store, open_store

__all__ = ["DEMO_BOOTSTRAP", "DEMO_USERS", "cmd_demo", "demo_config", "demo_config_text"]

DEMO_USERS = 2_000
DEMO_BOOTSTRAP = 200


def demo_config_text() -> str:
    """The TOML configuration the demo reports on (shipped as ``ttvkit/demo.toml``)."""
    return resources.files("ttvkit").joinpath("demo.toml").read_text(encoding="utf-8")


def demo_config() -> Config:
    """The demo's configuration, parsed."""
    return parse_config(tomllib.loads(demo_config_text()), source="ttvkit/demo.toml")


def _sqlite_url(path: Path) -> str:
    # %-escape what a URL would misread (?, #, %); the SQLite store decodes it.
    return "sqlite:///" + quote(str(path.resolve()), safe="/")


@contextlib.contextmanager
def _demo_database(path: str | None) -> Iterator[Path]:
    if path is not None:
        yield Path(path)
        return
    with tempfile.TemporaryDirectory(prefix="ttvkit-demo-") as directory:
        yield Path(directory) / "demo.db"


def _demo_events(users: int, seed: int, users_done: list[int]) -> Iterator[ValueEvent]:
    """The demo's log as events, streamed (memory stays flat for any size);
    counts users in *users_done* (rows come user by user)."""
    last_user = None
    for event_id, user_id, account_id, name, timestamp, properties in datasets.saas_event_rows(
        users, seed=seed
    ):
        if user_id != last_user:
            last_user = user_id
            users_done[0] += 1
        # Valid by construction (ttvkit.datasets), so the validation is skipped.
        yield trusted_event(user_id, name, timestamp, properties, account_id, event_id)


def _check_demo_database(store: Store, path: Path, users: int, seed: int) -> None:
    """Nothing, or this demo's whole log (stored by an earlier run), in *store*; an
    error, before anything is written, if it holds anything else."""
    before = store.count()
    if before:
        expected = {row[0] for row in datasets.saas_event_rows(users, seed=seed)}
        if before != len(expected) or any(e.event_id not in expected for e in store.events()):
            raise ConfigurationError(
                f"--db {path} already holds {before:,} events that are not this demo's log "
                f"(--users {users}, --seed {seed}); delete it or pass a new path"
            )


def _with_reading_guide(report: Report, config: Config) -> Report:
    """The demo's report with a note, after the overview, on how to read the figures."""
    bands = config.bands
    speed = (
        f" Speed classes: immediate within {format_duration(bands.immediate)}, short within "
        f"{format_duration(bands.short)}, long after that; undetermined means still on the "
        "way and watched for less than the short band."
        if bands is not None
        else ""
    )
    within = format_duration(config.within or DEFAULT_WITHIN)
    guide = Note(
        "Every figure counts the customers still on the way for as long as they have been "
        "watched (Kaplan-Meier) instead of leaving them out. A median 'not reached' means fewer "
        "than half have got there so far; 'within 30d' is the share expected to get there "
        f"within 30 days. A lever's effect (Δ within {within}) is the difference in the share "
        f"reaching value within {within} between the customers it reached early (by the "
        "landmark) and the others; its p-value is adjusted for testing several levers at "
        "once." + speed
    )
    sections = list(report.sections)
    sections.insert(1, Section("How to read this report", guide))
    return attrs.evolve(report, sections=sections)


def cmd_demo(args: argparse.Namespace) -> int:
    if args.print_config:
        write_stdout(demo_config_text())
        return EXIT_OK
    config = demo_config()
    users, seed = args.users, args.seed
    check_output(args.output, [("--db database", args.db)] if args.db else [])
    with _demo_database(args.db) as path:
        url = _sqlite_url(path)
        with open_store(url) as store:
            _check_demo_database(store, path, users, seed)
            users_done = [0]
            with Progress(
                "loading the demo log into SQLite", total=users, unit="users"
            ) as progress:
                read, _ = ingest(
                    store,
                    _demo_events(users, seed, users_done),
                    batch_size=10_000,
                    progress=progress,
                    position=lambda _: users_done[0],
                )
                progress.finish(users, f", {read:,} events")
            report = _with_reading_guide(
                build(
                    store,
                    config,
                    [
                        (
                            "data",
                            f"synthetic SaaS log (ttvkit.datasets), {users:,} users, seed {seed}",
                        ),
                        ("events", read),
                        ("store", url if args.db else "SQLite, in a temporary file"),
                        ("configuration", "ttvkit/demo.toml (ttvkit demo --print-config)"),
                    ],
                    {"bootstrap": DEMO_BOOTSTRAP, "title": "Time to Value: the ttvkit demo"},
                ),
                config,
            )
        write_report(report, args)
    if args.db:
        print(
            f"ttvkit: the demo database is kept at {path}; report on it with: "
            f"ttvkit demo --print-config > ttv.toml && ttvkit report '{url}' --config ttv.toml",
            file=sys.stderr,
        )
    return EXIT_OK
