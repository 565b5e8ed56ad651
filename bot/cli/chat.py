"""`teleopd chat`: the local channel in a terminal.

Each line read is one message from the user. After each, the chat sends what the outbox
holds for the local channel and prints every message to this user that has been shown
since, pushed ones included; choices are numbered, and a choice may be typed as its number
or its words. At the end of input it prints what is still pending and exits, so a file of
lines piped in is a script.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterable
from typing import TextIO

from bot.channels import local
from bot.channels.base import InboundMessage
from bot.inbound import receive
from bot.runtime import Services
from bot.services.identities import ensure_identity
from bot.store.models import utcnow

# How often an interactive chat looks for messages pushed while the user is typing.
POLL_SECONDS = 1.0
# At the end of input, how long to wait for replies that another process's worker holds.
END_WAIT_SECONDS = 5.0


class TerminalChat:
    """A terminal conversation with the bot as one local user."""

    def __init__(self, services: Services, user: str, language: str | None = None, out: TextIO | None = None):
        self.services = services
        self.user = user
        self.out = out
        self._print_lock = threading.Lock()
        if language:
            self._preset_language(language)
        # Start after what an earlier run printed: only messages not yet shown come first.
        self.cursor = local.delivered_cursor(services.db, user)

    def _preset_language(self, language: str) -> None:
        """Gives a user who has not chosen a language yet the one asked for on the command line."""
        with self.services.db.write() as session:
            identity = ensure_identity(session, local.NAME, self.user)
            if identity.language is None:
                identity.language = language

    def run(self, lines: Iterable[str], interactive: bool = False) -> int:
        """Chat until the input ends; return the exit status."""
        stop = threading.Event()
        poller = None
        self._show(drain=True)  # what was waiting from an earlier session
        if interactive:
            poller = threading.Thread(target=self._poll, args=(stop,), name="chat-poll", daemon=True)
            poller.start()
            self._write("(type a message and press Enter; Ctrl-D to quit)")
        try:
            for line in lines:
                text = line.rstrip("\r\n")
                if not text.strip():
                    continue  # Enter on its own sends nothing
                if not interactive:
                    self._write(f"you> {text}")
                self.send(text)
        finally:
            stop.set()
            if poller is not None:
                poller.join(timeout=POLL_SECONDS * 2)
        self._show_pending()
        return 0

    def _show_pending(self) -> None:
        """Print what is still due, waiting a little for rows another worker is sending."""
        deadline = time.monotonic() + END_WAIT_SECONDS
        while True:
            self._show(drain=True)
            if not local.waiting_count(self.services.db, self.user, utcnow()) or time.monotonic() > deadline:
                return
            time.sleep(0.1)

    def send(self, text: str) -> None:
        """Send one line as the user and print the replies."""
        provider_id = f"{self.user}:{uuid.uuid4()}"
        message = InboundMessage(channel=local.NAME, address=self.user, provider_id=provider_id, text=text)
        receive(self.services.dispatcher, local.NAME, message, provider_id)
        self._show(drain=True)

    def _poll(self, stop: threading.Event) -> None:
        while not stop.wait(POLL_SECONDS):
            try:
                self._show(drain=True)
            except Exception as exc:  # keep the chat alive through a database hiccup
                self._write(f"(could not fetch messages: {type(exc).__name__})")

    def _show(self, drain: bool) -> None:
        with self._print_lock:
            if drain:
                # No separate worker may be running: fire due timers (call reminders) here too.
                self.services.timers.run_once()
                self.services.worker.drain(channel=local.NAME)
            while True:
                messages, self.cursor = local.messages_after(self.services.db, self.user, self.cursor)
                for message in messages:
                    self._print_message(message)
                if not messages:
                    break
                local.mark_delivered(self.services.db, self.user, self.cursor)

    def _print_message(self, message: local.ShownMessage) -> None:
        lines = [f"bot> {line}" if i == 0 else f"     {line}" for i, line in enumerate(message.text.split("\n"))]
        lines += [f"     {n}. {choice['label']}" for n, choice in enumerate(message.choices, start=1)]
        self._write("\n".join(lines))

    def _write(self, text: str) -> None:
        out = self.out
        if out is not None:
            out.write(text + "\n")
            out.flush()



