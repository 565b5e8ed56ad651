"""What a file's bytes are, whatever its sender or provider declared: the first line against virus-shaped input.

A file is kept only when its first bytes are the signature of a type we take for its kind
and it is within the size limit. Declared types (Telegram's mime_type, Twilio's
MediaContentType) are never trusted: a program renamed "photo.jpg" has no JPEG signature.
Signatures: JPEG (ISO/IEC 10918-1, SOI marker FF D8 FF), PNG (RFC 2083 §3.1), WebP (RIFF
container, "WEBP" form type, https://developers.google.com/speed/webp/docs/riff_container),
PDF (ISO 32000-1 §7.5.2, "%PDF-"), Ogg (RFC 3533 §6, "OggS": Telegram's and WhatsApp's voice
notes are Opus in Ogg), AMR (RFC 4867 §5, "#!AMR\\n" or "#!AMR-WB\\n"), MP4/M4A audio
(ISO/IEC 14496-12: a "ftyp" box with an audio brand).
"""

from __future__ import annotations

from dataclasses import dataclass

PHOTO, DOCUMENT, VOICE = "photo", "document", "voice"
# ISO base media file brands of audio files (an iPhone's voice memo, WhatsApp's "audio/mp4").
AUDIO_BRANDS = frozenset({b"M4A ", b"M4B ", b"mp42", b"isom", b"3gp4", b"3gp5", b"3gp6"})
IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp")
# What each kind may be: a document may be a PDF or a photo sent as a file.
ALLOWED = {
    PHOTO: IMAGE_TYPES,
    DOCUMENT: ("application/pdf", *IMAGE_TYPES),
    VOICE: ("audio/ogg", "audio/amr", "audio/mp4"),
}


def sniff(data: bytes) -> str | None:
    """Return the media type the bytes' signature says, or None for anything we do not take."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if data.startswith(b"OggS"):
        return "audio/ogg"
    if data.startswith((b"#!AMR\n", b"#!AMR-WB\n")):
        return "audio/amr"
    if data[4:8] == b"ftyp" and data[8:12] in AUDIO_BRANDS:
        return "audio/mp4"
    return None


@dataclass(frozen=True)
class Verdict:
    """A file's check: its type when it may be kept, else why not ("too_big", "wrong_type")."""

    mime: str | None = None
    refused: str | None = None


def check(kind: str, data: bytes, max_bytes: int) -> Verdict:
    """Return whether a file of this kind may be kept: size first, then its signature."""
    if len(data) > max_bytes:
        return Verdict(refused="too_big")
    mime = sniff(data)
    if mime is None or mime not in ALLOWED.get(kind, ()):
        return Verdict(refused="wrong_type")
    return Verdict(mime=mime)
