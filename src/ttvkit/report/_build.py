"""build_report(): every analysis a configuration asks for, over one source."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime

from ttvkit.calculators import (
    DEFAULT_LANDMARK,
    DEFAULT_WITHIN,
    Period,
    Source,
    as_store,
    checked_as_of,
    cohorts,
    compare,
    impact,
    journey,
    no_events,
    resolve_as_of,
    satisfaction,
    time_to_value,
)
from ttvkit.conditions import Condition
from ttvkit.config import Config
from ttvkit.errors import AnalysisError, ConfigurationError, TTVError
from ttvkit.milestones import Milestone, MilestoneKind
from ttvkit.observations import Per, check_per
from ttvkit.report._model import (
    MEASURES,
    FactValue,
    Note,
    Overview,
    Report,
    ReportResult,
    Section,
    _facts,
)
from ttvkit.results import Comparison, TTVDistribution

# --------------------------------------------------------------------------- building


def _primary(selected: Sequence[Milestone]) -> Milestone:
    """The milestone the levers and the trend are about: the first basic one selected."""
    return next((m for m in selected if m.kind is MilestoneKind.BASIC), selected[0])


def _heading(milestone: Milestone) -> str:
    if milestone.kind is MilestoneKind.UPGRADE:
        # Which plans are "before" and "after" is the milestone's to say, not ours.
        start = (
            milestone.start.isoformat()
            if isinstance(milestone.start, datetime)
            else milestone.start.describe()
        )
        return (
            f"{MEASURES[milestone.kind]}: {milestone.name} "
            f"(from {start} to {milestone.reached.describe()})"
        )
    return f"{MEASURES[milestone.kind]}: {milestone.name}"


def build_report(
    source: Source,
    config: Config,
    *,
    milestones: Sequence[str] = (),
    by: str | Condition | None = None,
    per: Per | None = None,
    as_of: datetime | str | None = None,
    period: Period | None = "month",
    bootstrap: int = 200,
    seed: int = 0,
    title: str = "Time to Value report",
    facts: Iterable[tuple[str, FactValue]] | Mapping[str, FactValue] = (),
    progress: Callable[[str], object] | None = None,
) -> Report:
    """Run every analysis *config* defines over *source* and collect the results.

    The sections, in order:

    * an :class:`Overview` of every measure, then the distribution of the time
      to each selected milestone (``milestones``: names; default every
      milestone of the configuration), with the configuration's speed bands;
    * with ``by`` (a start-event property, or an event condition for an
      intervention): a :func:`~ttvkit.compare` for each selected milestone;
    * with ``[analysis] interventions``: the :func:`~ttvkit.impact` ranking on
      the *primary* milestone — the first selected one of kind ``basic``, else
      the first selected;
    * with ``period`` (not ``None``): :func:`~ttvkit.cohorts` of the primary milestone;
    * with ``[analysis] journey``: the :func:`~ttvkit.journey`;
    * with ``[satisfaction]``: :func:`~ttvkit.satisfaction` (needs ``[bands]``).

    Every analysis uses the same ``as_of`` (default: the source's latest
    event) and ``per`` (default: the configuration's). What you asked for by
    name (``milestones``, ``by``) raises when the data cannot answer it;
    the other sections become a ``skipped`` section holding a :class:`Note`
    with the reason, unless nothing at all could be computed, which raises the
    first error. Configuration problems raise
    :class:`~ttvkit.errors.ConfigurationError`.

    With ``milestones`` named, every section is about them only: the journey
    keeps the selected stages (and is left out with fewer than two), and
    satisfaction is left out unless its milestone is selected. *progress*,
    when given, is called with each section's heading before it is computed
    (the command line shows it on a terminal).
    """
    if not isinstance(config, Config):
        raise ConfigurationError(f"config={config!r}: pass a ttvkit.config.Config")
    if not config.milestones:
        raise ConfigurationError(
            "the configuration defines no milestones; add a [milestones.NAME] table "
            "with at least 'reached'"
        )
    explicit = bool(milestones)
    names = list(dict.fromkeys(milestones)) if explicit else list(config.milestones)
    selected = [config.milestone(n) for n in names]
    per = check_per(config.per if per is None else per)
    if config.satisfaction_milestone is not None and config.bands is None:
        raise ConfigurationError(
            "[satisfaction] groups scores by speed class and needs [bands] "
            "(e.g. immediate = '5m', short = '7d')"
        )
    landmark = config.landmark or DEFAULT_LANDMARK
    within = config.within or DEFAULT_WITHIN
    primary = _primary(selected)

    sections: list[Section] = []
    errors: list[TTVError] = []

    def step(heading: str) -> None:
        if progress is not None:
            progress(heading)

    def lenient(heading: str, compute: Callable[[], ReportResult]) -> None:
        step(heading)
        try:
            sections.append(Section(heading, compute()))
        except AnalysisError as exc:
            errors.append(exc)
            sections.append(Section(heading, Note(f"not computed: {exc}"), kind="skipped"))

    as_of = checked_as_of(as_of)
    with as_store(source) as store:
        when = resolve_as_of(store, as_of)
        if when is None:
            raise no_events(store)

        distributions: list[TTVDistribution] = []
        for m in selected:

            def measure(m: Milestone = m) -> TTVDistribution:
                return time_to_value(store, m, as_of=when, per=per, bands=config.bands)

            if explicit:
                step(_heading(m))
                distributions.append(measure())
                sections.append(Section(_heading(m), distributions[-1]))
            else:
                lenient(_heading(m), measure)
                result = sections[-1].result
                if isinstance(result, TTVDistribution):
                    distributions.append(result)
        if by is not None:
            by_text = by if isinstance(by, str) else by.describe()
            for m in selected:

                def compared(m: Milestone = m) -> Comparison:
                    return compare(
                        store,
                        m,
                        by,
                        as_of=when,
                        per=per,
                        landmark=landmark,
                        within=within,
                        bootstrap=bootstrap,
                        seed=seed,
                    )

                heading = f"{_heading(m)}, by {by_text}"
                if explicit:  # the milestones named: each must be answerable
                    step(heading)
                    sections.append(Section(heading, compared()))
                else:  # one milestone's start may fix the property (plan = 'free'): skipped
                    lenient(heading, compared)
        if config.interventions:
            lenient(
                f"What shortens {MEASURES[primary.kind].lower()}: {primary.name}",
                lambda: impact(
                    store,
                    primary,
                    list(config.interventions),
                    as_of=when,
                    per=per,
                    landmark=landmark,
                    within=within,
                    bootstrap=bootstrap,
                    seed=seed,
                ),
            )
        if period is not None:
            lenient(
                f"Cohorts (the trend): {primary.name}",
                lambda: cohorts(store, primary, period, as_of=when, per=per, within=within),
            )
        journey_names = [n for n in config.journey if not explicit or n in names]
        if len(journey_names) >= 2 or (journey_names and not explicit):
            stages = [config.milestone(n) for n in journey_names]
            lenient(
                "Value in stages: " + " -> ".join(journey_names),
                lambda: journey(store, stages, as_of=when, per=per, within=within),
            )
        if (
            config.satisfaction_milestone is not None
            and config.bands is not None
            and (not explicit or config.satisfaction_milestone in names)
        ):
            target, bands = config.milestone(config.satisfaction_milestone), config.bands
            lenient(
                f"Customer satisfaction: {target.name}",
                lambda: satisfaction(
                    store,
                    target,
                    config.survey,
                    config.score,
                    bands=bands,
                    as_of=when,
                    per=per,
                ),
            )

    if errors and len(errors) == len(sections):
        raise errors[0]
    if distributions:
        sections.insert(0, Section("Overview", Overview(distributions, within)))
    all_facts = [*_facts(facts), ("as of", when.isoformat()), ("per", per)]
    return Report(title, sections, all_facts)
