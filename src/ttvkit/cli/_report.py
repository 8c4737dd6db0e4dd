"""``ttvkit report``: the milestones to report on, the source to read, and the report built."""

from __future__ import annotations

import argparse
import os
import warnings
from collections.abc import Iterable
from typing import Any

import attrs

from ttvkit.cli._files import (
    VENDOR_OPTIONS,
    check_store_exists,
    file_format,
    is_url,
    many_files,
    open_reader,
    reader_facts,
    scan_file,
    scan_files,
    sqlite_files,
    with_stable_ids,
)
from ttvkit.cli._output import (
    DEFAULT_CONFIG,
    EXIT_OK,
    SectionProgress,
    check_output,
    note,
    plural,
    warn,
    write_report,
)
from ttvkit.cli._reading import reading_defaults, reading_of
from ttvkit.conditions import Condition, all_of, event, total
from ttvkit.config import Config, load_config
from ttvkit.errors import ConfigurationError, TTVError, UnknownEventWarning
from ttvkit.io import format_of_name
from ttvkit.milestones import Milestone, MilestoneKind
from ttvkit.report import Report, build_report
from ttvkit.results import TTVDistribution
from ttvkit.stores import MemoryStore, Source, open_store, shown_url

__all__ = ["build", "cmd_report"]

_INLINE = ("start", "where", "nth", "total", "at_least", "window", "kind", "name")
_SPARK_SCHEMES = ("s3a://", "gs://", "abfss://", "hdfs://")
# Those that Spark cannot honour: it checks no row (nothing to skip) and reads no vendor export.
_SPARK_CANNOT = (
    "on_error",
    "encoding",
    "delimiter",
    "decimal",
    "group_type",
    "keep_properties",
    "no_merge_identities",
    "no_person_properties",
)


def _given(args: argparse.Namespace, dests: Iterable[str]) -> list[str]:
    """The options among *dests* given on the command line."""
    return ["--" + d.replace("_", "-") for d in dests if getattr(args, d) != reading_defaults()[d]]


def _refuse(given: list[str], why: str) -> None:
    """A clear error instead of options that would be silently ignored."""
    if given:
        them = "it" if len(given) == 1 else "them"
        raise ConfigurationError(
            f"{', '.join(given)}: {why}, so {them} would be ignored; leave {them} out"
        )


def _inline_milestone(args: argparse.Namespace) -> Milestone | None:
    """The milestone of --reached, --start, ..., or None when --reached is not given."""
    if not args.reached:
        given = [f"--{o.replace('_', '-')}" for o in _INLINE if getattr(args, o) not in (None, [])]
        if given:
            raise ConfigurationError(
                f"{', '.join(given)} describe a milestone on the command line and need "
                "--reached EVENT"
            )
        return None
    if (args.total is None) != (args.at_least is None):
        raise ConfigurationError("--total PROP and --at-least X go together")
    if args.total is not None and args.nth is not None:
        raise ConfigurationError("--nth and --total are two kinds of milestone; pass one")
    if args.total is not None and len(args.reached) > 1:
        raise ConfigurationError("--total sums one event's property; pass one --reached")
    parts: list[Condition] = []
    for name in args.reached:
        if args.total is not None:
            parts.append(total(name, args.total, at_least=args.at_least))
        else:
            cond = event(name)
            parts.append(cond.nth(args.nth) if args.nth is not None else cond)
    reached = parts[0] if len(parts) == 1 else all_of(*parts)
    start = event(args.start or "signup", dict(args.where) if args.where else None)
    kind = args.kind or (
        "onboarding"
        if len(parts) > 1
        else "roi"
        if args.total is not None
        else "exceed"
        if args.nth is not None and args.nth > 1
        else "basic"
    )
    name = args.name or "+".join(args.reached)
    return Milestone(name, reached, start, MilestoneKind(kind), args.window)


def _config_for_report(args: argparse.Namespace) -> tuple[Config, list[str]]:
    """The configuration to report with, and the milestones to report on (empty: all)."""
    inline = _inline_milestone(args)
    path = args.config
    if path is None and os.path.exists(DEFAULT_CONFIG):
        path = DEFAULT_CONFIG
    if path is not None:
        config = load_config(path)
    elif inline is None:
        raise ConfigurationError(
            "no milestones: pass --reached EVENT (and --start EVENT), or --config FILE "
            f"defining [milestones.NAME] (or put {DEFAULT_CONFIG} in the working directory; "
            "'ttvkit init FILE' writes one); --milestone names one of them"
        )
    else:
        config = Config(milestones={})
    if inline is None:
        return config, list(args.milestone)
    config = attrs.evolve(config, milestones={**config.milestones, inline.name: inline})
    return config, [inline.name, *args.milestone]


def _check_parquet(source: str, input_format: str | None) -> None:
    """Refuse a file --engine spark cannot read before Spark starts (which takes seconds)."""
    instead = "drop --engine spark to read it here, or convert it to Parquet first"
    named = format_of_name(source)
    if input_format is None and named not in (None, "parquet"):
        raise ConfigurationError(
            f"--engine spark reads Parquet, not {named.upper()} ({source}); {instead}"
        )
    if os.path.isfile(source):
        with open(source, "rb") as file:
            magic = file.read(4)
        if magic != b"PAR1":
            raise ConfigurationError(
                f"--engine spark reads Parquet, and {source} is not a Parquet file; {instead}"
            )


def cmd_report(args: argparse.Namespace) -> int:
    config, milestones = _config_for_report(args)
    source = args.source or config.store
    if not source:
        raise ConfigurationError(
            "no SOURCE: pass a store URL or a file of events, or set 'store' in the configuration"
        )
    period = None if args.cohorts == "none" else args.cohorts
    options = {
        "milestones": milestones,
        "by": args.by,
        "per": args.per,
        "as_of": args.as_of,
        "period": period,
    }
    config_path = args.config or (DEFAULT_CONFIG if os.path.exists(DEFAULT_CONFIG) else None)
    inputs = [] if config_path is None else [("configuration", config_path)]
    # A store URL is shown without its password: the report may be published.
    shown = shown_url(source) if is_url(source) else source
    facts: list[tuple[str, str | int]] = [("source", shown)]
    if args.engine == "spark":
        _check_parquet(source, args.input_format)
        from ttvkit.stores.spark import SparkSource, spark_session

        if is_url(source) and not source.startswith(_SPARK_SCHEMES):
            raise ConfigurationError("--engine spark reads files: pass a Parquet path or glob")
        if args.input_format not in (None, "parquet"):
            raise ConfigurationError("--engine spark reads Parquet; convert other files first")
        _refuse(_given(args, _SPARK_CANNOT), "--engine spark reads Parquet columns, not rows")
        reading = reading_of(args, config)
        check_output(args.output, inputs)
        with (
            spark_session(args.spark_master, "ttvkit report") as spark,
            SparkSource.read(
                source,
                spark=spark,
                mapping=reading.mapping,
                assume_timezone=reading.timezone,
                timestamp_unit=reading.timestamp_unit,
                event_ids="content",  # as for a file: rows alike in every field count once
            ) as store,
        ):
            facts += [("engine", "spark"), ("events", store.count())]
            report = build(store, config, facts, options)
    elif is_url(source):
        _refuse(_given(args, reading_defaults()), f"{shown} is a store, not a file of events")
        check_output(args.output, [*inputs, *sqlite_files(source)])
        check_store_exists(source)
        with open_store(source) as store:
            facts.append(("events", store.count()))
            report = build(store, config, facts, options)
    elif many_files(source):
        _refuse(
            _given(args, VENDOR_OPTIONS), f"{source} is read as plain events, not a vendor export"
        )
        check_output(args.output, inputs)
        reading = reading_of(args, config)
        with scan_files(source, reading, event_ids="content") as together:
            # Checked before anything is written: the report must not replace a file it read.
            check_output(args.output, [("source", path) for path in together.files])
            facts += [("files", len(together.files)), ("events", together.count())]
            reader_facts(together, facts)
            report = build(together, config, facts, options)
    else:
        check_output(args.output, [*inputs, ("source", source)])
        reading = reading_of(args, config)
        fmt, reading = file_format(source, reading, facts)
        scanned = scan_file(source, fmt, reading, event_ids="content")
        if scanned is not None:
            with scanned:
                facts.append(("events", scanned.count()))
                reader_facts(scanned, facts)
                report = build(scanned, config, facts, options)
        else:
            reader = open_reader(source, fmt, reading)
            with MemoryStore(with_stable_ids(reader)) as store:
                facts.append(("events", store.count()))
                reader_facts(reader, facts)
                report = build(store, config, facts, options)
    write_report(report, args)
    return EXIT_OK


def build(
    source: Source, config: Config, facts: list[tuple[str, str | int]], options: dict[str, Any]
) -> Report:
    """build_report, with a warning on stderr (and a fact) for every name that matches nothing."""
    failure: TTVError | None = None
    with warnings.catch_warnings(record=True) as caught, SectionProgress() as progress:
        warnings.simplefilter("always", UnknownEventWarning)
        try:
            report = build_report(source, config, facts=facts, progress=progress, **options)
        except TTVError as exc:
            failure = exc
    seen: set[str] = set()
    for w in caught:
        if not issubclass(w.category, UnknownEventWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
            continue
        text = str(w.message)
        if text not in seen:
            seen.add(text)
            warn(text)
    if failure is not None:
        # Said after the warnings: a name that matches no event ("did you mean
        # ...?") is often why the report could not be made.
        raise failure
    extra: list[tuple[str, str | int]] = []
    if seen:
        extra.append(("names that match no event", "; ".join(sorted(seen))))
    for section in report.sections:
        result = section.result
        if isinstance(result, TTVDistribution) and result.n_reached_before_start:
            m = result.milestone
            n = result.n_reached_before_start
            note(
                f"{m.name}: {plural(n, 'customer')} reached it before their start "
                f"(before_start={m.before_start!r}: "
                + {"zero": "counted as reaching at 0)", "ignore": "only later events count)"}.get(
                    m.before_start, "left out)"
                )
            )
            extra.append((f"reached before the start ({m.name})", n))
    if extra:
        report = attrs.evolve(report, facts=[*report.facts, *extra])
    return report
