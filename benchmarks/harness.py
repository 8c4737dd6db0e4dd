"""What every scenario shares: interleaved repeated runs, summaries, targets, machine facts.

A scenario module exposes ``run(ctx) -> Scenario``. It measures ttvkit and
its peers *in the same process, on the same data, interleaved*: each repeat
runs every contender once, in a rotating order, so that a burst of load from
another process on this shared machine hits all of them alike. Ratios of
medians are what the report judges; absolute times are context.
"""

from __future__ import annotations

import contextlib
import gc
import importlib.metadata
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
CACHE = BENCH_DIR / ".cache"

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"

#: From this many events on, a scenario runs ``Context.repeat_huge`` rounds instead of ``repeat``.
HUGE = 50_000_000

#: One measurement of a contender: metric name -> value (seconds, µs, events/s, MiB...).
Sample = Mapping[str, float]


@dataclass
class Context:
    """What the command line asked for, handed to every scenario."""

    sizes: list[int]
    repeat: int
    postgres_url: str
    seed: int = 1
    log: Callable[[str], None] = print
    memory_sizes: list[int] = field(default_factory=lambda: [1_000_000])  # A4
    scale_sizes: list[int] = field(default_factory=list)  # S1 (default: sizes)
    report_sizes: list[int] = field(default_factory=lambda: [20_000, 200_000])  # R1
    m1_sizes: list[int] = field(default_factory=list)  # M1 (default: sizes)
    repeat_huge: int = 3  # runs per contender at HUGE events or more
    budget: float = 300.0  # seconds for the timed rounds of one table; fewer rounds beyond
    max_run: float = 600.0  # a contender projected to take longer per run is not started

    def repeat_for(self, size: int) -> int:
        """Runs per contender at *size* events: fewer for the huge logs (said in the report)."""
        return self.repeat if size < HUGE else min(self.repeat, self.repeat_huge)


@dataclass
class Series:
    """Repeated values of one metric for one contender."""

    label: str
    values: list[float]
    unit: str
    ttvkit: bool
    higher_is_better: bool = False

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def low(self) -> float:
        return min(self.values)

    @property
    def high(self) -> float:
        return max(self.values)


@dataclass
class Table:
    """One comparison: ttvkit's ``reference`` series against every peer in ``series``."""

    title: str
    series: list[Series]
    reference: str  # the label of the ttvkit series the ratios start from

    def get(self, label: str) -> Series:
        for s in self.series:
            if s.label == label:
                return s
        raise KeyError(label)

    def ratio(self, peer: str) -> float:
        """ttvkit's median over the peer's: time ÷ time, or rate ÷ rate."""
        return self.get(self.reference).median / self.get(peer).median


@dataclass
class Check:
    """A target of BENCHMARKS.md, what was measured against it, and whether it is met."""

    target: str
    measured: str
    met: bool | None  # None: not measured


@dataclass
class Scenario:
    """Everything one scenario reports."""

    id: str
    title: str
    setup: str
    tables: list[Table] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


def interleave(
    contenders: Mapping[str, Callable[[], Sample]],
    repeat: int,
    *,
    warmup: bool = True,
) -> dict[str, dict[str, list[float]]]:
    """Run every contender *repeat* times, rotating the order each round.

    Each contender times itself (so its set-up stays out of the figure) and
    returns its metrics. A warm-up round, discarded, fills caches (imports,
    the OS page cache of a database file) for everyone alike.
    """
    names = list(contenders)
    if warmup:
        for name in names:
            contenders[name]()
    results: dict[str, dict[str, list[float]]] = {name: {} for name in names}
    for round_ in range(repeat):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            gc.collect()
            for metric, value in contenders[name]().items():
                results[name].setdefault(metric, []).append(value)
    return results


def timed(work: Callable[[], object]) -> float:
    """Wall-clock seconds *work* takes."""
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The nearest-rank *q* quantile (0 < q ≤ 1) of an already sorted sequence."""
    rank = max(1, round(q * len(sorted_values) + 0.5 - 1e-9))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def users_for(size: int) -> int:
    """Users for a log of about *size* events: the generator makes about 10.3 per user."""
    return max(1, round(size / 10.3))


def fmt_size(size: int) -> str:
    """1e5, 2e4... as the brief writes them, or the number with separators."""
    exponent = len(str(size)) - 1
    mantissa, rest = divmod(size, 10**exponent)
    if rest == 0 and exponent >= 3:
        return f"1e{exponent}" if mantissa == 1 else f"{mantissa}e{exponent}"
    return f"{size:,}"


# --------------------------------------------------------------------------- facts


def _meminfo_total() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                kib = int(line.split()[1])
                return f"{kib / 1024**2:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _git(*args: str) -> str:
    try:
        done = subprocess.run(
            ["git", *args], cwd=REPO, capture_output=True, text=True, check=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return done.stdout.strip()


def machine() -> dict[str, str]:
    """The facts a reader needs to weigh the numbers."""
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return {
        "CPU": f"{os.cpu_count()} logical cores ({_cpu_model()})",
        "memory": _meminfo_total(),
        "OS": f"{platform.system()} {platform.release()}",
        "Python": f"{platform.python_implementation()} {platform.python_version()}",
        "SQLite": sqlite3.sqlite_version,
        "load average at start (1, 5, 15 min)": load,
    }


def commit() -> str:
    sha = _git("rev-parse", "--short", "HEAD")
    dirty = _git("status", "--porcelain", "--", "src")
    return f"{sha} (src/ has uncommitted changes)" if dirty else sha


PEER_DISTRIBUTIONS = (
    "ttvkit",
    "posthog",
    "segment-analytics-python",
    "pandas",
    "numpy",
    "lifelines",
    "scipy",
    "psycopg",
    "duckdb",
    "pyarrow",
)


def versions() -> dict[str, str]:
    out: dict[str, str] = {}
    for name in PEER_DISTRIBUTIONS:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    out["sqlite3 (library)"] = sqlite3.sqlite_version
    return out


def command_line() -> str:
    """The command as a reader would retype it, from the repository root."""
    script = Path(sys.argv[0])
    with contextlib.suppress(ValueError):  # run from outside the repository: keep it as typed
        script = script.resolve().relative_to(REPO)
    return " ".join(["python", str(script), *sys.argv[1:]])
