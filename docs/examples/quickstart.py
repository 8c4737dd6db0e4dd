"""The quickstart: track a few customers into SQLite and ask how long value takes.

Run it with ``python docs/examples/quickstart.py``; the tests run it too.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import ttvkit as ttv

first_report = ttv.Milestone(
    "first_report", start=ttv.event("signup"), reached=ttv.event("report_created")
)

with tempfile.TemporaryDirectory() as tmp:
    store = ttv.open_store(f"sqlite:///{Path(tmp) / 'ttv.db'}")
    t0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    hours_to_first_report = {"ana": 2, "ben": 30, "chen": 5, "dara": None, "eli": 70, "fay": None}
    events = []
    for i, (user, hours) in enumerate(hours_to_first_report.items()):
        signup = t0 + timedelta(hours=6 * i)
        events.append(ttv.ValueEvent(user, "signup", signup, properties={"plan": "free"}))
        if hours is not None:
            events.append(ttv.ValueEvent(user, "report_created", signup + timedelta(hours=hours)))
    store.append(events)

    dist = ttv.time_to_value(store, first_report, as_of=t0 + timedelta(days=5))
    print(dist)
    print(
        "share with a first report within 2 days:", f"{dist.reached_within(timedelta(days=2)):.0%}"
    )
    store.close()
