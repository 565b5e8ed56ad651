"""One message's cost in-process, step by step: parse → dispatch (identity, lock, dedupe, the flow, state, outbox rows, commit).

    python bench/dispatch_cost.py [--database-url URL | --sqlite] [--patients 60] [--profile out.prof]
                                  [--show-turn 'telegram 15'] [--json out.json]

No HTTP and no sends: the same Telegram updates and signed-WhatsApp forms bench/webhook_load.py
posts (bench/webhook_load_patients.py: half the patients on Telegram in English, half on
WhatsApp in Hindi, each registering and booking a token) are parsed by the real adapters
(bot/channels/telegram/parse.py, bot/channels/twilio.py) and handed to `receive()`, one
message after another on one thread. Printed per message, over every message after the
warm-up (a Telegram and a WhatsApp patient's whole journey): the thread's CPU time and the
wall time (median, p95), the SQL statements sent, and where the wall time went, by step, as
the mean per message:

  parse       the adapter's parse
  identity    the identity, its person and its conversation row, locked (bot/dispatch_store.py load_locked;
              a first contact's made by bot/services/identities.py ensure_identity)
  dedupe      the inbound row (a retry finds its (channel, provider_id)) and the flood limit's count
  flow        flows/conversation.py handle: the steps and the ports they ask (the domain's reads and writes)
  state       the conversation's state and the identity's row
  notices     the turn's notices carried out
  outbox      the replies' outbox rows
  COMMIT      the database's COMMIT itself (the dialect's do_commit: on SQLite in WAL mode with
              synchronous=NORMAL a write of the log, no fsync; what a group commit would share)
  commit      what is left: the connection's checkout (and pre-ping), BEGIN, the ORM's flush
              of what the ports changed

`--profile` writes a cProfile of the measured messages (read it with `python -m pstats`).

The steps are timed by wrapping bot/dispatch.py's own names from here (the bench's
instrument, not the code's); each wrapper costs ~1 µs.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from common import cpu_model, database_url, percentile, redacted, server_version  # noqa: E402
from sqlalchemy import event, text  # noqa: E402
from webhook_load_patients import TELEGRAM_JOURNEY, WHATSAPP_JOURNEY, Patients  # noqa: E402
from webhook_load_processes import with_schema  # noqa: E402

from bot import dispatch as dispatch_module  # noqa: E402
from bot.channels.telegram.parse import parse_update  # noqa: E402
from bot.channels.twilio import parse_inbound  # noqa: E402
from bot.inbound import receive  # noqa: E402
from bot.platform.config import Settings  # noqa: E402
from bot.runtime import build_services  # noqa: E402
from bot.services.opds import load_demo  # noqa: E402
from bot.store import migrate  # noqa: E402
from bot.store.db import Database  # noqa: E402

TURNS_SHOWN = 8
STEPS = ("parse", "identity", "dedupe", "flow", "state", "notices", "outbox", "COMMIT", "commit")
# bot/dispatch.py's names, wrapped to time each step: this tree's and those of the tree before the
# frame was rewritten (ensure_identity + _locked_conversation, _record_inbound + _over_limit, enqueue),
# so that one run can measure both (--checkout).
WRAPPED = {
    "load_locked": "identity", "ensure_identity": "identity", "_locked_conversation": "identity",
    "record_inbound": "dedupe", "_record_inbound": "dedupe", "_over_limit": "dedupe",
    "_save_state": "state", "apply_notices": "notices", "enqueue_turn": "outbox", "enqueue": "outbox",
}


class Steps:
    """Wall time per step of the message being measured."""

    def __init__(self) -> None:
        self.current: dict[str, float] = defaultdict(float)

    def wrap(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.current[name] += time.perf_counter() - start

        return timed


def instrument(steps: Steps) -> None:
    for attribute, step in WRAPPED.items():
        if hasattr(dispatch_module, attribute):
            setattr(dispatch_module, attribute, steps.wrap(step, getattr(dispatch_module, attribute)))
    flows = dispatch_module.conversation
    dispatch_module.conversation = type("Flows", (), {
        "handle": staticmethod(steps.wrap("flow", flows.handle)), "slow_down": staticmethod(flows.slow_down),
    })


def prepare(url: str) -> None:
    migrate.upgrade(url)
    db = Database(url)
    with db.write() as session:
        load_demo(session)
    db.dispose()


def parsed_journeys(patients: int) -> tuple[list[tuple[str, Callable[[], Any], str]], int]:
    """Every message of a Telegram and a WhatsApp patient (the warm-up: every language's catalog, every
    statement compiled), then every message of `patients` more in the closed loop's order (patients take
    turns), as (channel, parse call, the turn's name); and how many messages the warm-up is."""
    source = Patients("http://127.0.0.1:8000")
    warm_up = [next(source), next(source)]
    journeys = [next(source) for _ in range(patients)]
    messages: list[tuple[str, Callable[[], Any], str]] = []
    for patient in warm_up:
        messages += [_parse_call(patient.channel, message.body, turn) for turn, message in enumerate(patient.messages)]
    first = len(messages)
    longest = max(len(p.messages) for p in journeys)
    for turn in range(longest):
        for patient in journeys:
            if turn < len(patient.messages):
                messages.append(_parse_call(patient.channel, patient.messages[turn].body, turn))
    return messages, first


def _parse_call(channel: str, body: bytes, turn: int) -> tuple[str, Callable[[], Any], str]:
    if channel == "telegram":
        kind, value = TELEGRAM_JOURNEY[turn]
        return "telegram", lambda: parse_update(json.loads(body)), f"telegram {turn + 1:>2} {kind} {value or ''}".rstrip()
    return "whatsapp", lambda: parse_inbound("whatsapp", dict(parse_qsl(body.decode()))), f"whatsapp {turn + 1:>2} {WHATSAPP_JOURNEY[turn]}"




def measure(url: str, patients: int, profile: Path | None, show_turn: str | None = None) -> dict[str, Any]:
    settings = Settings.from_env({"TELEOPD_DATABASE_URL": url, "TELEOPD_LOG_LEVEL": "WARNING", "TELEOPD_INBOUND_PER_MINUTE": "1000"})
    services = build_services(settings)
    steps = Steps()
    instrument(steps)
    statements = [0]
    dialect = services.db.engine.dialect
    dialect.do_commit = steps.wrap("COMMIT", dialect.do_commit)  # type: ignore[method-assign]

    shown: list[str] = []
    showing = [False]

    @event.listens_for(services.db.engine, "before_cursor_execute")
    def _count(_connection: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements[0] += 1
        if showing[0]:
            shown.append(" ".join(statement.split()))

    messages, warm_up = parsed_journeys(patients)
    cpu: list[float] = []
    wall: list[float] = []
    per_step: dict[str, list[float]] = defaultdict(list)
    sql: list[int] = []
    by_turn: dict[str, list[float]] = defaultdict(list)
    profiler = cProfile.Profile() if profile else None
    for index, (channel, parse, turn) in enumerate(messages):
        steps.current.clear()
        statements[0] = 0
        measured = index >= warm_up
        chosen = show_turn is None or turn.startswith(show_turn)
        showing[0] = measured and show_turn is not None and chosen and not shown
        profiling = measured and chosen and profiler is not None
        if profiling:
            profiler.enable()
        start_cpu, start = time.thread_time(), time.perf_counter()
        parsed = parse()
        parsed_at = time.perf_counter()
        receive(services.dispatcher, channel, parsed, "bench")
        elapsed = time.perf_counter() - start
        spent_cpu = time.thread_time() - start_cpu
        if profiling:
            profiler.disable()
        if not measured:
            continue
        cpu.append(spent_cpu)
        by_turn[turn].append(spent_cpu)
        wall.append(elapsed)
        sql.append(statements[0])
        steps.current["parse"] = parsed_at - start
        accounted = sum(steps.current.values())
        # What is left of the wall time is the transaction's checkout, BEGIN and flush (and receive's few lines).
        steps.current["commit"] = max(0.0, elapsed - accounted)
        for name in STEPS:
            per_step[name].append(steps.current.get(name, 0.0))
    report: dict[str, Any] = {
        "messages": len(cpu),
        "cpu_ms": summary(cpu),
        "wall_ms": summary(wall),
        "statements": {"mean": statistics.fmean(sql), "max": max(sql)},
        "steps_ms_mean": {name: statistics.fmean(values) * 1000 for name, values in per_step.items()},
        "cpu_ms_median_by_turn": {turn: statistics.median(values) * 1000 for turn, values in by_turn.items()},
    }
    if show_turn is not None:
        report["statements_of_turn"] = {"turn": show_turn, "statements": shown}
    if profiler and profile:
        profiler.dump_stats(profile)
    services.db.dispose()
    return report


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {"median": statistics.median(ordered) * 1000, "p95": percentile(ordered, 95) * 1000, "mean": statistics.fmean(ordered) * 1000}


def print_report(report: dict[str, Any]) -> None:
    print(f"{report['database']} · {report['cpu']} · load before {report['load_before']}, after {report['load_after']}")
    print(f"{report['messages']} messages (after two patients' journeys of warm-up), one thread, no HTTP, no sends")
    cpu, wall = report["cpu_ms"], report["wall_ms"]
    print(f"  CPU  median {cpu['median']:6.2f} ms  p95 {cpu['p95']:6.2f} ms  mean {cpu['mean']:6.2f} ms")
    print(f"  wall median {wall['median']:6.2f} ms  p95 {wall['p95']:6.2f} ms  mean {wall['mean']:6.2f} ms")
    print(f"  SQL statements a message: mean {report['statements']['mean']:.1f}, max {report['statements']['max']}")
    print("  wall time by step, mean ms a message:")
    total = sum(report["steps_ms_mean"].values())
    for name in STEPS:
        value = report["steps_ms_mean"].get(name, 0.0)
        print(f"    {name:<9} {value:6.2f}  {value / total * 100:5.1f} %")
    print("  the dearest turns of a journey, median CPU ms:")
    for turn, value in sorted(report["cpu_ms_median_by_turn"].items(), key=lambda item: -item[1])[:TURNS_SHOWN]:
        print(f"    {value:6.2f}  {turn}")
    if "statements_of_turn" in report:
        shown = report["statements_of_turn"]
        print(f"  the SQL of one '{shown['turn']}' turn ({len(shown['statements'])} statements):")
        for statement in shown["statements"]:
            print(f"    {statement[:300]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url")
    parser.add_argument("--sqlite", action="store_true", help="a temporary SQLite file, even when TELEOPD_TEST_DATABASE_URL is set")
    parser.add_argument("--patients", type=int, default=60, help="patients, half on Telegram and half on WhatsApp (14-15 messages each)")
    parser.add_argument("--profile", type=Path, help="write a cProfile of the measured messages (only --show-turn's turns, if given) here")
    parser.add_argument("--show-turn", metavar="NAME", help="print the SQL of the first measured turn whose name starts so (e.g. 'telegram 15')")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if args.sqlite:
        folder = Path(tempfile.mkdtemp(prefix="teleopd-bench-"))
        base = f"sqlite:///{folder / 'bench.db'}"
    else:
        base, folder = database_url(args.database_url)
    schema = None
    url = base
    if base.startswith("postgresql"):
        schema = f"bench_dispatch_{uuid.uuid4().hex[:8]}"
        admin = Database(base)
        with admin.engine.begin() as connection:
            connection.execute(text(f"CREATE SCHEMA {schema}"))
        admin.dispose()
        url = with_schema(base, schema)
    try:
        prepare(url)
        report: dict[str, Any] = {"load_before": load_averages(), "cpu": cpu_model()}
        report |= measure(url, args.patients, args.profile, args.show_turn)
        report["load_after"] = load_averages()
        db = Database(url)
        report["database"] = f"{redacted(base)} ({server_version(db)})"
        db.dispose()
    finally:
        if schema:
            admin = Database(base)
            with admin.engine.begin() as connection:
                connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            admin.dispose()
        if folder:
            shutil.rmtree(folder, ignore_errors=True)
    print_report(report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


def load_averages() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


if __name__ == "__main__":
    raise SystemExit(main())
