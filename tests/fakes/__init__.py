"""Fake provider servers on loopback (Telegram Bot API, Twilio REST API), for tests and bench/."""
