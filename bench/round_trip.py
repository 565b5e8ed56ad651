"""One message's round trip on SQLite, in-process: webhook → dispatch → outbox → worker → a fake channel.

    python bench/round_trip.py [--messages 150] [--rounds 3] [--checkout PATH ...] [--json out.json]

Each message is a POST to the web chat's demo API (`/api/chat/<user>/messages`, the Flask
app through its test client: the same view, receive() and dispatcher a webhook uses), then
one `OutboxWorker.drain(channel="local")`, which claims the reply rows and "sends" them to the
local channel (a row in the database, as the web chat reads it). Twenty users take turns
saying "hello" and "help", so every message is a real turn of a conversation with a reply.
The figures are wall time per round trip (POST and drain), median and mean over the
messages after the first 20 (warm-up), the process's CPU time per round trip (less moved by
other work on the machine than the wall time), and the wall time spent in
`OutboxWorker.claim` (a drain claims twice: the reply rows, then to find nothing more).

`--checkout PATH` runs the same messages on the code of another tree (a `git archive` of an
older commit, say) beside this one, in one run: each checkout runs in a process of its own
(`python bench/round_trip.py --child PATH`, the tree first on sys.path), the checkouts take
turns round by round so that a change of the machine's load falls on both, and the load
average is printed before and after each. Every process gets a fresh temporary SQLite file.
Nothing else is started (no threads, no servers); the whole run stays well under a minute
with the defaults.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
# The child imports the checkout it measures: its tree goes first on sys.path, before anything
# of teleopd is imported (the editable install's finder comes after sys.path).
CHILD_ROOT = Path(sys.argv[sys.argv.index("--child") + 1]).resolve() if "--child" in sys.argv else HERE
sys.path.insert(0, str(CHILD_ROOT))

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import bot  # noqa: E402  # the checkout's: child() checks it is
from bot.outbox.worker import OutboxWorker  # noqa: E402
from bot.platform.config import Settings  # noqa: E402
from bot.runtime import build_services  # noqa: E402
from bot.store import migrate  # noqa: E402
from bot.store.db import Database  # noqa: E402
from webhooks import create_app  # noqa: E402

USERS = 20
WARM_UP = 20
TEXTS = ("hello", "help")


def load_averages() -> str:
    """Return the 1, 5 and 15 minute load averages, as `uptime` prints them."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def child(messages: int) -> dict[str, object]:
    """Push `messages` round trips through the checkout on sys.path; return the figures."""
    if not Path(bot.__file__).resolve().is_relative_to(CHILD_ROOT):
        raise SystemExit(f"imported {bot.__file__}, not the checkout {CHILD_ROOT}")
    claim_s = [0.0]
    original_claim = OutboxWorker.claim

    def timed_claim(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        try:
            return original_claim(self, *args, **kwargs)
        finally:
            claim_s[0] += time.perf_counter() - started

    OutboxWorker.claim = timed_claim  # type: ignore[method-assign]
    folder = Path(tempfile.mkdtemp(prefix="teleopd-round-trip-"))
    try:
        url = f"sqlite:///{folder / 'bench.db'}"
        migrate.upgrade(url)
        db = Database(url)
        services = build_services(Settings(database_url=url, inbound_per_minute=1_000_000), db=db)
        client = create_app(services, local_demo=True).test_client()
        times, cpu, claims, replies = [], [], [], 0
        for n in range(messages + WARM_UP):
            user = f"bench{n % USERS}"
            claim_before = claim_s[0]
            started, cpu_started = time.perf_counter(), time.process_time()
            answer = client.post(f"/api/chat/{user}/messages", json={"text": TEXTS[(n // USERS) % len(TEXTS)]})
            replies += services.worker.drain(channel="local")
            elapsed, cpu_elapsed = time.perf_counter() - started, time.process_time() - cpu_started
            if answer.status_code != 202:
                raise SystemExit(f"POST answered {answer.status_code}: {answer.get_data(as_text=True)}")
            if n >= WARM_UP:
                times.append(elapsed * 1000)
                cpu.append(cpu_elapsed * 1000)
                claims.append((claim_s[0] - claim_before) * 1000)
        services.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {
        "messages": messages,
        "replies": replies,
        "median_ms": statistics.median(times),
        "mean_ms": statistics.fmean(times),
        "cpu_mean_ms": statistics.fmean(cpu),
        "claim_mean_ms": statistics.fmean(claims),
    }


def revision(root: Path) -> str:
    """Return a short description of a checkout: its git commit, or its path."""
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "log", "-1", "--format=%h %s"], capture_output=True, text=True, timeout=10, check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True, timeout=10, check=True,
        ).stdout.strip()
        return (("(changed) " if dirty else "") + out)[:72] if out else str(root)
    except (OSError, subprocess.SubprocessError):
        return str(root)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=150)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--checkout", action="append", default=[], help="another tree to measure beside this one")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--json", help="write the figures here")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.messages)))
        return 0
    roots = [Path(p).resolve() for p in args.checkout] + [HERE]
    print(f"round trips on SQLite: {args.messages} messages a run (+{WARM_UP} warm-up), {args.rounds} rounds, load {load_averages()}")
    results: dict[Path, list[dict[str, object]]] = {root: [] for root in roots}
    for round_no in range(1, args.rounds + 1):
        for root in roots:
            before = load_averages()
            out = subprocess.run(
                [sys.executable, str(Path(__file__).resolve()), "--child", str(root), "--messages", str(args.messages)],
                capture_output=True, text=True, timeout=300, check=False,
            )
            if out.returncode != 0:
                print(out.stderr, file=sys.stderr)
                return 1
            figures = json.loads(out.stdout.strip().splitlines()[-1]) | {"load_before": before, "load_after": load_averages()}
            results[root].append(figures)
            print(
                f"round {round_no}  {revision(root):<72}  {figures['median_ms']:6.2f} ms median  {figures['mean_ms']:6.2f} ms mean  {figures['cpu_mean_ms']:6.2f} ms CPU"
                f"  claim {figures['claim_mean_ms']:5.2f} ms  load {before} → {figures['load_after']}"
            )
    print()
    for root in roots:
        medians = [float(f["median_ms"]) for f in results[root]]  # type: ignore[arg-type]
        claims = [float(f["claim_mean_ms"]) for f in results[root]]  # type: ignore[arg-type]
        means = [float(f["mean_ms"]) for f in results[root]]  # type: ignore[arg-type]
        cpus = [float(f["cpu_mean_ms"]) for f in results[root]]  # type: ignore[arg-type]
        print(
            f"{revision(root):<72}  median of medians {statistics.median(medians):6.2f} ms, CPU {statistics.median(cpus):6.2f} ms,"
            f" claim {statistics.median(claims):5.2f} ms"
            f" ({100 * statistics.median(claims) / statistics.median(means):.0f} % of the mean)"
        )
    if args.json:
        Path(args.json).write_text(json.dumps({str(root): runs for root, runs in results.items()}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
