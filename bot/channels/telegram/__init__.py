"""The Telegram channel: one adapter, in three parts.

- parse.py: a raw update (the webhook's body, or one `teleopd telegram poll` fetched) as an
  InboundMessage, an Ignored or a Malformed. Verifying the call is the webhook's
  (webhooks/telegram.py); dispatching is bot/inbound.py's.
- render.py: an OutgoingMessage as the sendMessage calls that carry it (split text, keyboard).
- send.py: TelegramChannel, which sends them through the Bot API and maps PTB's errors to
  SendError; it also sets the webhook and long-polls for `teleopd telegram`.
"""

from bot.channels.telegram.parse import ALLOWED_UPDATES, NAME, parse_update
from bot.channels.telegram.send import TelegramChannel

__all__ = ["ALLOWED_UPDATES", "NAME", "TelegramChannel", "parse_update"]
