"""Where every provider's parsed inbound call goes: the one place the dispatcher is called from.

Each webhook verifies its call (Telegram's secret header, Twilio's signature) and has its
channel adapter parse the body; `teleopd telegram poll` parses each update it fetched the
same way. What the adapter made of it, an InboundMessage or an Ignored, comes here:
a message is dispatched (deduplicated, under the conversation's lock, in one transaction),
an ignored call is logged and counted. The answer says which, for the webhook to send back.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.channels.base import MEMBERSHIP_KINDS, Ignored, InboundMessage
from bot.dispatch import Dispatcher, Result
from bot.platform import metrics

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Receipt:
    """What became of one inbound call, as its webhook answers it."""

    status: str  # handled, duplicate, rate_limited (bot.dispatch.Result) or ignored
    reason: str | None = None

    def to_json(self) -> dict[str, str]:
        """Return the webhook's JSON answer."""
        return {"status": self.status, **({"reason": self.reason} if self.reason else {})}


def receive(dispatcher: Dispatcher, channel: str, parsed: InboundMessage | Ignored, ref: str) -> Receipt:
    """Dispatch a parsed message, or log and count a call that carries nothing for the conversation.

    `ref` names the call in the log (Telegram's update id; Twilio's MessageSid and masked sender).
    """
    if isinstance(parsed, Ignored):
        metrics.count_in(channel, "ignored")  # handled and duplicate are counted by the dispatcher
        log.info("%s %s ignored: %s", channel, ref, parsed.reason)
        return Receipt("ignored", parsed.reason)
    outcome = dispatcher.dispatch(parsed)
    if outcome.result is Result.DUPLICATE:
        log.info("%s %s already handled", channel, ref)
    # A block has no words to show what it was: the answer names it.
    reason = parsed.kind if parsed.kind in MEMBERSHIP_KINDS and outcome.result is Result.HANDLED else None
    return Receipt(outcome.result.value, reason)
