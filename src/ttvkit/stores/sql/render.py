"""One observations statement per plan, for any :class:`~ttvkit.stores.sql.Dialect`.

The statement's layers (CTEs), each over the rows of the one before::

    base   the customer's events up to as_of (only the names that matter), with
           the time in µs and one boolean column per distinct row filter (m0, m1…)
    win    running counts (nth) and running sums (total) per customer over
           ORDER BY ts with the default RANGE frame, which takes in every row
           of the same timestamp, so simultaneous events never decide
    cand   one row per customer whose clock started: start, reached, and the
           FirstTime attributes, as MIN(ts) FILTER (...) aggregates; where the
           dialect seeks (Dialect.seeks_first_match), the reached node's first
           matches are correlated MIN(ts) subqueries on the events relation,
           and base holds only the rows the other aggregates test
    after/win2/reach   with before_start="ignore": the reached node again,
           over the rows at or after the start only
    sev    the start event (StartProperty); po<i> the first or last row of a
           PropertyOf filter (ROW_NUMBER() = 1 per customer)
    obs    cand joined with the above: c, st, rc, attribute columns
    fin    rules 3 and 4 of ttvkit.observations (:func:`settle`): reached
           before the start, the window, censoring; c, st, en, ob, bf, a<i>

:func:`observations_statement` selects ``fin`` per customer (ordered by
customer); :func:`cells_statement` groups it into ``(duration µs, reached,
censored, reached before start)`` cells — all a Kaplan–Meier curve needs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import attrs

from ttvkit.stores.sql.dialect import Binder, Dialect
from ttvkit.stores.sql.plan import (
    Earliest,
    FirstMatch,
    FirstTimeColumn,
    Latest,
    Match,
    Node,
    NthMatch,
    ObservationPlan,
    PropertyColumn,
    StartPropertyColumn,
    TotalReached,
    max_micros,
)

__all__ = ["Statement", "cells_statement", "observations_statement"]


@attrs.frozen
class Statement:
    """SQL text and its named parameters."""

    sql: str
    params: Mapping[str, object]


class _Renderer:
    def __init__(self, plan: ObservationPlan, dialect: Dialect, as_of: int) -> None:
        self.plan = plan
        self.dialect = dialect
        self.binder = Binder(dialect)
        self._as_of_micros = as_of
        self.as_of = self.binder.bind(as_of, "int")
        self._flags: dict[Match, str] = {}
        self._flag_sql: list[str] = []
        self._windows: dict[str, dict[Node, str]] = {"win": {}, "win2": {}}
        self._window_sql: dict[str, list[str]] = {"win": [], "win2": []}
        self.ctes: list[str] = []

    # -- row filters and first times

    def flag(self, match: Match) -> str:
        alias = self._flags.get(match)
        if alias is None:
            alias = self._flags[match] = f"m{len(self._flags)}"
            tests = [self.dialect.name_is(self.binder, match.condition.name)]
            tests += [self.dialect.test(self.binder, k, p) for k, p in match.condition.where]
            self._flag_sql.append(f"({' AND '.join(tests)}) AS {alias}")
        return alias

    def first_time(self, node: Node, layer: str, seek: str | None = None) -> str:
        """An aggregate over *layer*'s rows of one customer: when *node* is first met.

        With *seek* (the grouped customer column), a first match is found by a
        correlated subquery on the events relation instead (see
        :meth:`Dialect.seeks_first_match`); its rows then need not be in *layer*.
        """
        if isinstance(node, FirstMatch):
            if seek is not None:
                return self._seek(node.match, seek)
            return f"MIN(ts) FILTER (WHERE {self.flag(node.match)})"
        if isinstance(node, NthMatch):
            flag = self.flag(node.match)
            # SUM(CASE ...), not COUNT(*) FILTER: Spark 3.5 has no FILTER on a window.
            seen = self._window(layer, node, lambda: f"SUM(CASE WHEN {flag} THEN 1 ELSE 0 END)")
            return f"MIN(ts) FILTER (WHERE {seen} >= {self.binder.bind(node.k, 'int')})"
        if isinstance(node, TotalReached):
            flag = self.flag(node.match)
            key = node.key

            def running_sum() -> str:
                # Bound only when the window is made: a window already made binds nothing.
                summand = self.dialect.summand(self.binder, key)
                return self.dialect.running_sum(f"CASE WHEN {flag} THEN {summand} ELSE 0 END")

            running = self._window(layer, node, running_sum)
            threshold = self.binder.bind(node.threshold, "float")
            reached = self.dialect.reaches(running, threshold)
            return f"MIN(ts) FILTER (WHERE {flag} AND {reached})"
        parts = [self.first_time(part, layer, seek) for part in node.parts]
        if len(parts) == 1:
            return parts[0]
        if isinstance(node, Latest):
            return self.dialect.latest(parts)
        assert isinstance(node, Earliest)
        return self.dialect.earliest(parts)

    def _seek(self, match: Match, customer: str) -> str:
        d = self.dialect
        tests = [d.name_is(self.binder, match.condition.name)]
        tests += [d.test(self.binder, k, p) for k, p in match.condition.where]
        tests.append(f"{d.customer(self.plan.per)} = {customer}")
        tests.append(d.ts_at_most(self.binder, self._as_of_micros))
        # Unqualified columns inside name the subquery's own relation.
        return f"(SELECT MIN({d.ts()}) FROM {d.relation} WHERE {' AND '.join(tests)})"

    def _window(self, layer: str, node: Node, aggregate: Callable[[], str]) -> str:
        # The aggregate is rendered (and its values bound) only once per node:
        # an engine with positional parameters refuses a value the text never uses.
        known = self._windows[layer]
        alias = known.get(node)
        if alias is None:
            alias = known[node] = f"{layer}_{len(known)}"
            self._window_sql[layer].append(f"{aggregate()} OVER w AS {alias}")
        return alias

    def _layer(self, name: str, source: str) -> str:
        if not self._window_sql[name]:
            return source
        columns = ", ".join(self._window_sql[name])
        self.ctes.append(
            f"{name} AS (SELECT *, {columns} FROM {source} "
            "WINDOW w AS (PARTITION BY c ORDER BY ts))"
        )
        return name

    # -- the statement

    def render(self) -> str:
        plan, d = self.plan, self.dialect
        ignore = plan.reached_from_start
        # Aggregates first: they register the flags and window columns the
        # lower layers must provide.
        if isinstance(plan.start, int):
            start = d.greater("MIN(ts)", self.binder.bind(plan.start, "int"))
        else:
            start = self.first_time(plan.start, "win")
        # Seek the reached node's first matches, rather than group their rows,
        # where the engine's index makes that cheaper and the rows are not
        # needed again (every name is read with a fixed start; "ignore" groups
        # the rows after the start).
        seek = (
            "g.c"  # the customer of cand's grouped rows (below)
            if d.seeks_first_match(plan.per) and plan.names is not None and not ignore
            else None
        )
        reached = "NULL" if ignore else self.first_time(plan.reached, "win", seek)
        first_times = [
            f"{self.first_time(a.node, 'win')} AS f{i}"
            for i, a in enumerate(plan.attributes)
            if isinstance(a, FirstTimeColumn)
        ]
        reached_after = self.first_time(plan.reached, "win2") if ignore else None
        start_flag = None if plan.start_match is None else self.flag(plan.start_match)
        property_flags = {
            i: self.flag(a.match)
            for i, a in enumerate(plan.attributes)
            if isinstance(a, PropertyColumn)
        }

        where = [d.ts_at_most(self.binder, self._as_of_micros)]
        if plan.per == "account":
            where.append("account_id IS NOT NULL")
        if plan.names is not None:
            # the names of the rows the aggregates test (all of plan.names unless seeking)
            names = {match.condition.name for match in self._flags}
            where.append(d.name_in(self.binder, sorted(names)))
        flags = "".join(f", {flag}" for flag in self._flag_sql)
        base = (
            f"base AS (SELECT {d.customer(plan.per)} AS c, {d.ts()} AS ts, event_id, "
            f"properties{flags} FROM {d.relation} WHERE {' AND '.join(where)})"
        )
        self.ctes.insert(0, base)
        win = self._layer("win", "base")
        extra = "".join(", " + f for f in first_times)
        self.ctes.append(
            f"cand AS (SELECT * FROM (SELECT c, {start} AS st, {reached} AS rc{extra} "
            f"FROM {win} AS g GROUP BY c) AS q WHERE st IS NOT NULL AND st <= {self.as_of})"
        )
        joins = []
        reached_column = "cand.rc"
        if reached_after is not None:
            self.ctes.append(
                "after AS (SELECT base.* FROM base JOIN cand ON cand.c = base.c "
                "WHERE base.ts >= cand.st)"
            )
            win2 = self._layer("win2", "after")
            self.ctes.append(f"reach AS (SELECT c, {reached_after} AS rc FROM {win2} GROUP BY c)")
            joins.append("LEFT JOIN reach ON reach.c = cand.c")
            reached_column = "reach.rc"
        if any(isinstance(a, StartPropertyColumn) for a in plan.attributes):
            if start_flag is None:  # a fixed start: the customer's first event
                chosen = self._first_rows("base", "TRUE", first=True)
            else:  # the first matching event at the start time
                chosen = self._first_rows(
                    "(SELECT base.* FROM base JOIN cand ON cand.c = base.c "
                    f"WHERE base.ts = cand.st AND base.{start_flag})",
                    "TRUE",
                    first=True,
                )
            self.ctes.append(f"sev AS ({chosen})")
            joins.append("LEFT JOIN sev ON sev.c = cand.c")
        for i, flag in property_flags.items():
            spec = plan.attributes[i]
            assert isinstance(spec, PropertyColumn)
            picked = self._first_rows("base", flag, first=spec.which == "first")
            self.ctes.append(f"po{i} AS ({picked})")
            joins.append(f"LEFT JOIN po{i} ON po{i}.c = cand.c")

        columns = ["cand.c AS c", "cand.st AS st", f"{reached_column} AS rc"]
        for i, a in enumerate(plan.attributes):
            if isinstance(a, StartPropertyColumn):
                columns.append(f"{d.attribute(self.binder, 'sev.properties', a.key)} AS a{i}")
            elif isinstance(a, FirstTimeColumn):
                columns.append(f"cand.f{i} AS a{i}")
            else:
                columns.append(f"{d.attribute(self.binder, f'po{i}.properties', a.key)} AS a{i}")
        self.ctes.append(f"obs AS (SELECT {', '.join(columns)} FROM cand {' '.join(joins)})")
        self.ctes.append(self._settled())
        return "WITH " + ", ".join(self.ctes)

    def _first_rows(self, rows: str, flag: str, *, first: bool) -> str:
        """``c, properties`` of each customer's first (or last) row of *rows* where *flag*
        holds, by time then ``event_id``: the one rule, in the dialect's way
        (:attr:`Dialect.first_row_by_window`)."""
        if self.dialect.first_row_by_window:
            order = "ts, event_id" if first else "ts DESC, event_id DESC"
            return (
                "SELECT c, properties FROM (SELECT c, properties, ROW_NUMBER() OVER "
                f"(PARTITION BY c ORDER BY {order}) AS rn FROM {rows} AS r WHERE {flag}) AS s "
                "WHERE rn = 1"
            )
        # The customer's earliest (latest) time, then at that time the row with the
        # least (greatest) event_id: properties is the bare column MIN()/MAX() picks.
        pick = "MIN" if first else "MAX"
        return (
            f"SELECT r.c AS c, r.properties AS properties, {pick}(r.event_id) AS e "
            f"FROM {rows} AS r JOIN (SELECT c, {pick}(ts) AS t FROM {rows} AS r0 WHERE {flag} "
            f"GROUP BY c) AS f ON f.c = r.c AND r.ts = f.t WHERE {flag} GROUP BY r.c"
        )

    def _settled(self) -> str:
        """``fin``: :func:`ttvkit.observations.settle` in SQL, one row per observation."""
        plan = self.plan
        before = "(rc IS NOT NULL AND rc < st)"
        reached = f"(CASE WHEN {before} THEN st ELSE rc END)"
        censor = self.as_of
        if plan.window is not None:
            window = self.binder.bind(plan.window, "int")
            # the window is no window when its end lies past the last instant
            windowed = f"st < {self.binder.bind(max_micros() - plan.window, 'int')}"
            reached = (
                f"(CASE WHEN {windowed} AND {reached} > st + {window} THEN NULL ELSE {reached} END)"
            )
            censor = (
                f"(CASE WHEN {windowed} AND st + {window} < {self.as_of} "
                f"THEN st + {window} ELSE {self.as_of} END)"
            )
        attributes = "".join(f", a{i}" for i in range(len(plan.attributes)))
        keep = f" WHERE NOT {before}" if plan.before_start == "exclude" else ""
        return (
            f"fin AS (SELECT c, st, COALESCE({reached}, {censor}) AS en, "
            f"CASE WHEN {reached} IS NULL THEN 0 ELSE 1 END AS ob, "
            f"CASE WHEN {before} THEN 1 ELSE 0 END AS bf{attributes} FROM obs{keep})"
        )


def observations_statement(plan: ObservationPlan, dialect: Dialect, as_of: int) -> Statement:
    """One row per observation: ``c, st, en, ob, bf, a0…`` ordered by customer.

    ``st`` and ``en`` are µs; ``ob`` is 1 when reached; ``bf`` is 1 when the
    milestone came before the start (counted at duration 0).
    """
    r = _Renderer(plan, dialect, as_of)
    head = r.render()
    attributes = "".join(f", a{i}" for i in range(len(plan.attributes)))
    return Statement(
        f"{head} SELECT c, st, en, ob, bf{attributes} FROM fin ORDER BY c", r.binder.params
    )


def cells_statement(plan: ObservationPlan, dialect: Dialect, as_of: int) -> Statement:
    """Cells ordered by duration: ``duration µs, reached, censored, reached before start``.

    Grouped by duration, or where the dialect does not group
    (:attr:`Dialect.groups_cells`) one row per customer; :func:`read_cells`
    reads either.
    """
    r = _Renderer(plan, dialect, as_of)
    head = r.render()
    # Counts as BIGINT: DuckDB's SUM of integers is a HUGEINT, slow to hand to Python.
    counts = ", ".join(
        f"CAST(SUM({term}) AS BIGINT) AS {name}"
        for term, name in (("ob", "reached"), ("1 - ob", "censored"), ("bf", "before"))
    )
    if not dialect.groups_cells:  # one row per customer, sorted; read_cells adds them up
        return Statement(
            f"{head} SELECT en - st AS d, ob, 1 - ob, bf FROM fin ORDER BY d", r.binder.params
        )
    return Statement(
        f"{head} SELECT en - st AS d, {counts} FROM fin GROUP BY en - st ORDER BY d",
        r.binder.params,
    )
