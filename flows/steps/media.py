"""Photos, documents and voice notes from a patient: what they are told, and what the doctor is.

A registered patient's files are kept for the doctor (bot/services/media.py, through the
Media port): with the consultation going on, the token waiting, or — mid-booking or between
visits — the next token they book, since a photo sent while describing a rash belongs to the
visit being booked. Before registration nothing is kept: there is no consent yet to keep a
health record under.

A voice note is never passed over in silence. Nothing here can listen to it, so the red-flag
screen cannot either: every answer to one names 108.
"""

from __future__ import annotations

from collections.abc import Sequence

from flows.engine import Turn
from flows.messages import Reply, Text, sms, t, tn
from flows.ports.media import NOW, QUEUE

PHOTO, DOCUMENT, VOICE = "photo", "document", "voice"


def received(turn: Turn) -> None:
    """Keeps a patient's files for the doctor and says so; a caption is then read as any text."""
    kinds = turn.inbound.media
    media = turn.ports.media
    if media is None or turn.ports.patients.profile() is None:
        turn.replies.append(_not_registered(kinds))
        return
    kept = media.keep()
    if kept.too_many:
        turn.say(
            tn(
                "You have already sent {count} file for this visit, the most I can keep. The doctor will see it.",
                "You have already sent {count} files for this visit, the most I can keep. The doctor will see them.",
                kept.limit,
            ),
            sms=sms("Too many files: the doctor will see the ones you sent first."),
        )
    shown = [kind for kind in kept.kept if kind != VOICE]
    if shown:
        turn.replies.append(_kept(shown, kept.where))
    if VOICE in kept.kept or (VOICE in kinds and kept.too_many):
        turn.replies.append(_voice_kept(kept.where, VOICE in kept.kept))


def _kept(kinds: Sequence[str], where: str) -> Reply:
    photos = all(kind == PHOTO for kind in kinds)
    if where == NOW:
        text = t("I have sent your photo to the doctor.") if photos else t("I have sent your document to the doctor.")
    elif where == QUEUE:
        text = t("The doctor will see your photo when they call you.") if photos else t("The doctor will see your document when they call you.")
    else:
        text = (
            t("I have kept your photo. The doctor will see it when you book a token.")
            if photos
            else t("I have kept your document. The doctor will see it when you book a token.")
        )
    return Reply(text, sms=sms("The doctor will see your file."))


def _voice_kept(where: str, kept: bool) -> Reply:
    """Says who will hear a voice note, and that nobody hears it now: 108 in an emergency."""
    if not kept:
        text = t("I cannot listen to voice notes. If this is an emergency, call 108 now.")
    elif where in (NOW, QUEUE):
        text = t("The doctor will hear your voice note. I cannot listen to it myself: if this is an emergency, call 108 now.")
    else:
        text = t(
            "I have kept your voice note; the doctor will hear it when you book a token. "
            "I cannot listen to it myself: if this is an emergency, call 108 now."
        )
    return Reply(text, sms=sms("I cannot listen to voice notes. Emergency: call 108 now."))


def _not_registered(kinds: Sequence[str]) -> Reply:
    """Answers files sent before registering: nothing is kept without consent; a voice note still hears 108."""
    if VOICE in kinds:
        return Reply(
            t("I cannot listen to voice notes. If this is an emergency, call 108 now. Otherwise please type your answer."),
            sms=sms("I cannot listen to voice notes. Emergency: call 108 now. Else type your answer."),
        )
    return Reply(
        t("I can keep photos and documents for the doctor once you have registered. Please type your answer."),
        sms=sms("Photos can be kept once you register. Please type your answer."),
    )


# --- after fetching (bot/media/fetcher.py): a file that could not be kept ----------------------

TOO_BIG, WRONG_TYPE, NOT_RECEIVED = "too_big", "wrong_type", "not_received"


def refused(reason: str, kind: str, max_mb: int) -> Reply:
    """Return what a patient is told about a file that was not kept, and what to do."""
    if reason == TOO_BIG:
        text = t("Your file is too big to keep (the limit is {mb} MB). Please send a smaller photo or a shorter voice note.", mb=max_mb)
        short = sms("File too big. Send a smaller photo or a shorter voice note.")
    elif reason == WRONG_TYPE:
        text = t("I could not keep your file: I can take photos (JPEG, PNG, WebP), PDF documents and voice notes.")
        short = sms("File not kept: send a photo, PDF or voice note.")
    else:
        text = t("I could not receive your file. Please send it again.")
        short = sms("File not received. Please send it again.")
    if kind == VOICE:
        # The voice note's words are lost to the doctor too: the emergency number comes with it.
        return Reply(t("{problem} If this is an emergency, call 108 now.", problem=text), sms=short)
    return Reply(text, sms=short)


# --- the doctor's side --------------------------------------------------------------------------


def media_counts(kinds: Sequence[str]) -> tuple[Text, ...]:
    """Return "2 photos", "1 voice note"… for the kinds of a patient's files."""
    counts = [(kind, sum(1 for k in kinds if k == kind)) for kind in (PHOTO, DOCUMENT, VOICE)]
    words = {
        PHOTO: lambda n: tn("{count} photo", "{count} photos", n),
        DOCUMENT: lambda n: tn("{count} document", "{count} documents", n),
        VOICE: lambda n: tn("{count} voice note", "{count} voice notes", n),
    }
    return tuple(words[kind](n) for kind, n in counts if n)


def summary_line(kinds: Sequence[str], links: Sequence[str]) -> Text:
    """Return the line of a doctor's summary that lists the patient's files, with their links."""
    return t("From the patient: {counts}\n{links}", counts=media_counts(kinds), links="\n".join(links))


def arrived(token_number: int, kind: str, link: str) -> Reply:
    """Return the message a doctor gets when their patient sends a file during the consultation."""
    if kind == VOICE:
        text = t("Token {number}: your patient sent a voice note: {link}", number=token_number, link=link)
    elif kind == DOCUMENT:
        text = t("Token {number}: your patient sent a document: {link}", number=token_number, link=link)
    else:
        text = t("Token {number}: your patient sent a photo: {link}", number=token_number, link=link)
    return Reply(text, kind="push")
