"""GET /media/<signed>: a patient's photo, document or voice note, for the doctor who got the link.

The link is the file's id signed and timed (bot/media/links.py): a forged, altered or expired
one, or one to a file erased since, is answered 404 alike, saying nothing of which. The file
is served as the type its bytes were checked to be, never sniffed by the browser, in a
sandbox (CSP `sandbox`); photos and voice notes inline (the web desk's links open them in a
tab), a PDF as a download.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app

from bot.store.models import MediaItem, MediaStatus

blueprint = Blueprint("media", __name__)


@blueprint.get("/media/<signed>")
def media_file(signed: str) -> Response:
    """Serve a kept file to whoever holds its link."""
    services = current_app.extensions["teleopd"]
    fetcher = services.media
    if fetcher is None or len(signed) > 200:
        abort(404)
    media_id = fetcher.links.media_id(signed)
    if media_id is None:
        abort(404)
    with services.db.read() as session:
        item = session.get(MediaItem, media_id)
        key = item.storage_key if item is not None and item.status == MediaStatus.STORED else None
        mime = item.mime if item is not None else ""
    data = fetcher.storage.get(key) if key else None
    if data is None:
        abort(404)
    response = Response(data, mimetype=mime)
    # A photo or a voice note opens in the browser; a PDF is downloaded to the doctor's own
    # viewer (browsers refuse to show a PDF under a sandbox policy, and its scripts stay away).
    response.headers["Content-Disposition"] = "attachment; filename=report.pdf" if mime == "application/pdf" else "inline"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'; img-src 'self'; media-src 'self'; object-src 'self'"
    # A patient's health record: kept by no shared cache.
    response.headers["Cache-Control"] = "private, no-store"
    return response
