"""The voice line: what a caller hears, and what each key of their phone does (DTMF only).

A feature-phone patient calls the voice number (webhooks/voice.py). The first time, the
line asks their language by keypad (1 Hindi, 2 English); then it says their token, OPD,
place in the queue and wait, or that they have none and how to book; then the keys:
1 again, 2 cancel (after a confirmation: 1 cancels, any other key keeps it), 3 a health
worker calls back, 4 "the doctor is ready" as a phone call (on, or off again), 9 the language.

Each answer is one `VoiceTurn`: the lines to say, each with the language that speaks it,
the stage the caller's next key answers (carried in the Gather's action URL, which Twilio
signs), the notices for others (a cancelled token's doctor, place 3), the language to keep.
Nothing here knows TwiML (bot/channels/voice.py) or the database (bot/services/voice.py).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from flows.messages import Text, t, tn
from flows.notices import Notice, Notify
from flows.ports import Bookings, TokenInfo, Visits, VoiceLine
from flows.steps import visit
from flows.steps.token_text import token_when
from flows.steps.voice_call import callback_notice

# Keys of the language question, as the issue and the line's first words say them.
LANGUAGE_KEYS = {"1": "hi", "2": "en"}
# Stages: what the caller's next key answers ("cancel:<token id>" carries its token). CALL is
# a call the outbox placed: its key arrives as the choice it picked ("join:7"), which the
# voice channel maps from the digit (bot/channels/voice.py chosen_key).
START, MENU, LANGUAGE, CANCEL, CALL = "start", "menu", "language", "cancel", "call"


@dataclass(frozen=True)
class Said:
    """One line, and the language whose voice says it ("hi" or "en")."""

    text: Text
    language: str


@dataclass(frozen=True)
class Spoken:
    """What the caller hears: the lines, then a key to press (or the end of the call)."""

    lines: tuple[Said, ...]
    # The stage the caller's next key answers; None: the call ends after the lines.
    gather: str | None = None
    # Said when no key comes (the caller was silent): then the call ends.
    silence: tuple[Said, ...] = ()


@dataclass
class VoiceTurn:
    """One answer of the voice line."""

    spoken: Spoken
    notices: list[Notice] = field(default_factory=list)
    # The caller's language, to keep (chosen now), or None when unchanged.
    language: str | None = None


def spoken_language(language: str | None) -> str | None:
    """Return the language a caller is spoken to in: Hindi for every form of Hindi (hi-Latn is not spoken), else English."""
    if not language:
        return None
    return "hi" if language.lower().startswith("hi") else "en"


def spell_number(phone: str) -> str:
    """Return a phone number as digits said one by one: an Indian mobile as its 10 digits, as people dial it."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    if phone.startswith("+91") and len(digits) == 12:
        digits = digits[2:]
    return " ".join(digits)


@dataclass(frozen=True)
class Caller:
    """What one answer may ask about the caller: their line, tokens, visits and the number to book on."""

    line: VoiceLine
    bookings: Bookings
    now: dt.datetime
    # The SMS or WhatsApp number a caller can book through (said digit by digit), if there is one.
    booking_number: str | None = None
    # The patient's side of a call placed by the outbox ("the doctor is ready"), when there is one.
    visits: Visits | None = None
    # Whether calls can be placed at all (a number to call from): else key 4 is not offered.
    can_ring: bool = True


def answer(stage: str | None, key: str | None, language: str | None, caller: Caller) -> VoiceTurn:
    """Return what the caller hears at this stage after pressing this key (None: no key, a new call)."""
    lang = spoken_language(language)
    kind, _, rest = (stage or START).partition(":")
    if kind == CALL:
        # A call we placed: spoken in the language its message was, the caller's or Hindi.
        return _call_key(key, lang or "hi", caller)
    if kind == LANGUAGE or lang is None:
        chosen = LANGUAGE_KEYS.get(key or "") if kind == LANGUAGE else None
        if chosen is None:
            return VoiceTurn(ask_language())
        return VoiceTurn(_status_and_menu(chosen, caller), language=chosen)
    if kind == CANCEL:
        return _confirm_cancel(rest, key, lang, caller)
    if kind == MENU and key is not None:
        return _menu_key(key, lang, caller)
    return VoiceTurn(_status_and_menu(lang, caller))


def ask_language() -> Spoken:
    """Return the language question, each choice said in its own language."""
    lines = (Said(t("For Hindi, press 1."), "hi"), Said(t("For English, press 2."), "en"))
    silence = t("We did not hear a key. Please call again. Goodbye.")
    return Spoken(lines, gather=LANGUAGE, silence=(Said(silence, "hi"), Said(silence, "en")))


def _said(lang: str, *texts: Text) -> tuple[Said, ...]:
    return tuple(Said(text, lang) for text in texts)


def _menu(lang: str, caller: Caller, *before: Text) -> Spoken:
    """Return lines followed by the keys this caller can press."""
    keys = [t("Press 1 to hear this again.")]
    if caller.line.registered() and caller.bookings.live_tokens():
        keys.append(t("Press 2 to cancel your token."))
    keys.append(t("Press 3 and a health worker will call you back."))
    if caller.line.registered() and caller.can_ring:
        keys.append(t("Press 4 to stop the phone call when the doctor is ready.") if caller.line.call_me() else t("Press 4 to get a phone call when the doctor is ready."))
    keys.append(t("Press 9 to change the language."))
    return Spoken(_said(lang, *before, *keys), gather=MENU, silence=_said(lang, t("Thank you for calling. Goodbye.")))


def _status(caller: Caller) -> list[Text]:
    """Return what the STATUS command says (flows/steps/tokens.py), as it is spoken: each token, place and wait."""
    if not caller.line.registered():
        return [t("We could not find a token for this number."), _how_to_book(caller)]
    tokens = caller.bookings.live_tokens()
    if not tokens:
        return [t("You have no token booked."), _how_to_book(caller)]
    lines: list[Text] = []
    for token in tokens[:3]:  # more would keep a caller listening too long; SMS and chat list them all
        lines.append(t("Your token number is {number}, at {opd}, {when}.", number=token.number, opd=token.opd_name, when=token_when(token, caller.now)))
        lines.append(_place(token))
    return lines


def _place(token: TokenInfo) -> Text:
    if token.status != "waiting":
        return t("The doctor is calling you now. Please join the video call. The link is in your SMS.")
    if token.position <= 1:
        return t("You are next in the queue.")
    return tn(
        "You are number {position} in the queue. The wait is about {count} minute.",
        "You are number {position} in the queue. The wait is about {count} minutes.",
        token.wait_minutes, position=token.position,
    )


def _how_to_book(caller: Caller) -> Text:
    if caller.booking_number:
        return t("To book, send an SMS or WhatsApp message to {number}, or ask your health worker.", number=spell_number(caller.booking_number))
    return t("To book, ask your health worker.")


def _status_and_menu(lang: str, caller: Caller) -> Spoken:
    return _menu(lang, caller, *_status(caller))


def _menu_key(key: str, lang: str, caller: Caller) -> VoiceTurn:
    """Carry out a key of the menu."""
    line = caller.line
    if key == "1":
        return VoiceTurn(_status_and_menu(lang, caller))
    if key == "9":
        return VoiceTurn(ask_language())
    if key == "2" and line.registered():
        tokens = caller.bookings.live_tokens()
        if not tokens:
            return VoiceTurn(_menu(lang, caller, t("You have no token to cancel.")))
        token = tokens[0]
        confirm = t(
            "To cancel token {number} at {opd} on {date}, press 1. To keep it, press any other key.",
            number=token.number, opd=token.opd_name, date=token.day,
        )
        return VoiceTurn(Spoken(_said(lang, confirm), gather=f"{CANCEL}:{token.id}", silence=_said(lang, t("Your token is kept."), t("Thank you for calling. Goodbye."))))
    if key == "3":
        if not line.request_callback():
            return VoiceTurn(_menu(lang, caller, t("You have already asked for a call back. A health worker will call you soon.")))
        # Listed on the coordinators' dashboard; a walk-in's own health worker is told too.
        booked = line.booked_by() if line.registered() else None
        notices: list[Notice] = [] if booked is None else [Notify(booked.health_worker, callback_notice(booked), exact=True)]
        return VoiceTurn(_menu(lang, caller, t("Thank you. A health worker will call you back on this number soon.")), notices=notices)
    if key == "4" and line.registered() and caller.can_ring:
        on = not line.call_me()
        line.set_call_me(on)
        said = t("When the doctor is ready, we will phone you on this number.") if on else t(
            "We will not phone you. When the doctor is ready, you will get an SMS."
        )
        return VoiceTurn(_menu(lang, caller, said))
    return VoiceTurn(_menu(lang, caller, t("Sorry, that key is not one of the choices.")))


def _confirm_cancel(token_id: str, key: str | None, lang: str, caller: Caller) -> VoiceTurn:
    """Cancel the token on 1; keep it on any other key (a retried answer finds it cancelled already)."""
    token = next((tk for tk in caller.bookings.live_tokens() if str(tk.id) == token_id), None) if caller.line.registered() else None
    if token is None:
        return VoiceTurn(_menu(lang, caller, t("That token is no longer booked.")))
    if key != "1":
        return VoiceTurn(_menu(lang, caller, t("Your token is kept.")))
    cancelled = caller.bookings.cancel(token.id)
    if cancelled is None:
        return VoiceTurn(_menu(lang, caller, t("That token is no longer booked.")))
    said = t("Token {number} at {opd} is cancelled.", number=token.number, opd=token.opd_name)
    return VoiceTurn(_menu(lang, caller, said), notices=visit.cancelled_notices(cancelled, caller.now))


def _call_key(key: str | None, lang: str, caller: Caller) -> VoiceTurn:
    """Answer the one key of a call the outbox placed, given as the choice it picked: join or leave."""
    kind, _, rest = (key or "").partition(":")
    visits = caller.visits
    if kind not in ("join", "leave") or not (rest.isascii() and rest.isdigit() and len(rest) <= 12) or visits is None:
        again = t("Press 1 if you are joining. Press 2 if you cannot come now.")
        return VoiceTurn(Spoken(_said(lang, again), gather=CALL, silence=_said(lang, t("Thank you for calling. Goodbye."))))
    if kind == "join":
        joined = visits.join(int(rest))
        if joined is None:
            return VoiceTurn(Spoken(_said(lang, t("That call is over."))))
        said = _said(lang, t("Thank you. The doctor knows you are coming."), t("Please join the video call now. The link is in your SMS."))
        return VoiceTurn(Spoken(said), notices=visit.joining_notices(joined))
    ended = visits.decline(int(rest))
    notices = visit.released_notices(ended, "declined") if ended is not None else []
    return VoiceTurn(Spoken(_said(lang, t("All right. Your place will be given to the next patient. Goodbye."))), notices=notices)
