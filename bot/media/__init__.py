"""Media in: the photos, documents and voice notes patients send, fetched, checked, stored and linked.

checks.py (which bytes are which kind, and the size limit), storage.py (where files are kept:
a folder), links.py (signed, expiring links the doctor opens), sources.py (fetching a file
from Telegram or Twilio), fetcher.py (the durable job that fetches what webhooks recorded).
"""
