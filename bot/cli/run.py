"""`teleopd serve`, `teleopd worker` and `teleopd chat`: the commands that run the bot until stopped.

serve is the web app with the outbox worker and the timers in its process; worker is the
worker and the timers alone (for scaled deployments); chat is the local channel in a
terminal (bot/cli/chat.py).
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import signal
import sys
import threading
from typing import Any

from bot.cli.common import CommandError, log, open_services
from bot.platform.config import Settings


def add_run_parsers(commands: Any) -> None:
    """Add the `serve`, `worker` and `chat` commands to the `teleopd` subcommands (an argparse subparsers action)."""
    serve = commands.add_parser("serve", help="run the web app and a worker (embedded default: SQLite, web chat at /)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", default="8000", help="port to listen on (default 8000; 0 picks a free one)")
    serve.add_argument("--threads", type=int, default=8, help="web threads (default 8)")
    serve.set_defaults(handler=cmd_serve)

    worker = commands.add_parser("worker", help="run the outbox worker alone (for scaled deployments)")
    worker.set_defaults(handler=cmd_worker)

    chat = commands.add_parser("chat", help="chat with the bot in the terminal (reads stdin; scriptable)")
    chat.add_argument("--user", default="terminal", help="local chat user id (default: terminal)")
    chat.add_argument("--lang", choices=("en", "hi", "hi-Latn"), help="language for a new user (skips the language question)")
    chat.set_defaults(handler=cmd_chat)


def _port(value: str) -> int:
    """Parse a TCP port number, or say in one line why it is none."""
    if not value.isascii() or not value.isdigit() or not 0 <= int(value) <= 65535:
        raise CommandError(f"--port takes a number from 0 to 65535, not {value}")
    return int(value)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    """Run the web app with an in-process outbox worker until interrupted."""
    # Loaded when the command runs (bot/cli/__init__.py says why).
    from waitress import create_server

    from webhooks import create_app
    from webhooks.webchat import long_polls_for

    port = _port(args.port)
    # On loopback this is the local demo, where any web chat user id works (scripts, curl);
    # anywhere else each web chat is a secret the server issues.
    local_demo = _is_loopback(args.host)
    services = open_services(settings)
    app = create_app(services, local_demo=local_demo, long_polls=long_polls_for(args.threads))
    stop = threading.Event()
    background = services.start_background(stop)  # the timers and the outbox worker, in threads
    try:
        server = create_server(app, host=args.host, port=port, threads=args.threads, ident="teleopd")
    except OSError as exc:
        stop.set()
        raise CommandError(f"cannot listen on {args.host}:{port}: {exc.strerror or exc}") from exc
    base = _base_url(args.host, server.effective_port)  # type: ignore[union-attr]
    log.info("web chat at %s/ (%s)", base,
             "the local demo: any chat id works" if local_demo else "each chat a secret the server issues")
    log.info("dashboard at %s/dashboard (sign in as an operator: `teleopd operator add --name ...`)", base)
    _say_if_no_opd(services)
    # SIGTERM (a process manager stopping us) ends the server loop the way Ctrl-C does, so
    # the in-process worker is stopped cleanly instead of leaving claimed rows behind. Both
    # first answer the web chats' long polls, which waitress would otherwise wait 5 s for.
    signal.signal(signal.SIGTERM, _answer_long_polls_and_interrupt)
    signal.signal(signal.SIGINT, _answer_long_polls_and_interrupt)
    try:
        server.run()
    finally:
        background.join()
        services.close()
    return 0


def _base_url(host: str, port: int) -> str:
    """Return the http address of the server (an IPv6 address in brackets)."""
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _say_if_no_opd(services: Any) -> None:
    """Warn when there is no OPD: the chat would answer every booking with "no OPD is open"."""
    # Loaded when the command runs (bot/cli/__init__.py says why).
    from bot.services.opds import active_opd_count

    with services.db.read() as session:
        if active_opd_count(session) == 0:
            log.warning("no OPD loaded: run `teleopd demo` or `teleopd opd add`")


def _answer_long_polls_and_interrupt(signum: int, frame: object) -> None:
    from bot.channels.local import ARRIVALS

    ARRIVALS.close()
    raise KeyboardInterrupt


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    """Run the outbox worker until SIGTERM or Ctrl-C."""
    services = open_services(settings)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    log.info("worker started")
    # The timers in a thread; the outbox worker runs in this one. PostgreSQL: woken by the web
    # processes' commits (LISTEN/NOTIFY) instead of finding replies at the next idle poll, up
    # to half a second later.
    background = services.start_background(stop, send=False, listen=True)
    try:
        services.worker.run(stop, services.outbox_signal)
    except KeyboardInterrupt:
        stop.set()
    background.join()
    services.close()
    log.info("worker stopped")
    return 0


def cmd_chat(settings: Settings, args: argparse.Namespace) -> int:
    """Chat with the bot as a local user, line by line from stdin."""
    # Loaded when the command runs (bot/cli/__init__.py says why): the terminal chat loads the runtime.
    from bot.channels.local import valid_user_id
    from bot.cli.chat import TerminalChat

    if not valid_user_id(args.user):
        raise CommandError("--user takes 1-64 characters of letters, digits and . _ @ -")
    # The conversation is on stdout; only warnings belong on the terminal's stderr.
    logging.getLogger().setLevel(max(logging.getLogger().level, logging.WARNING))
    services = open_services(settings, announce=False)
    chat = TerminalChat(services, args.user, language=args.lang, out=sys.stdout)
    return chat.run(sys.stdin, interactive=sys.stdin.isatty())
