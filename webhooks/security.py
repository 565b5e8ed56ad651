"""What every answer of the web app carries for the browser's safety, and whose addresses to believe.

- Behind TELEOPD_TRUSTED_PROXIES reverse proxies, Werkzeug's ProxyFix takes the client's
  address, scheme and host from that many X-Forwarded-For/-Proto/-Host entries (the ones
  those proxies appended; anything further left a client could have written). With 0 the
  headers are ignored, so nobody can pick the address sign-in throttling counts.
- Every answer: a Content-Security-Policy that lets a page load scripts, styles, fonts,
  images and audio from this server only, talk to this server only, and be framed by nobody (the
  pages keep no inline script or style); nosniff; no Referer (a chat's address may hold its
  token); HSTS when the request came over https.
- The chat API's JSON and every page under /dashboard are `Cache-Control: no-store`: they
  hold patients' messages and the service's figures, which no shared cache or back button
  should keep.
"""

from __future__ import annotations

from flask import Flask, request
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.wrappers import Response

CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "font-src 'self'",
    # data: for the chat page's empty favicon (<link rel="icon" href="data:,">).
    "img-src 'self' data:",
    # The doctor's desk plays a patient's voice note from this server's /media/ route.
    "media-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))
# A year: browsers keep to https for this long once they have seen it over https.
HSTS = "max-age=31536000"
NO_STORE_PREFIXES = ("/api/chat/", "/api/my-chat/", "/dashboard")


def install(app: Flask, trusted_proxies: int) -> None:
    """Believe the forwarding headers of this many proxies, and add the safety headers to every answer."""
    if trusted_proxies:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=trusted_proxies, x_proto=trusted_proxies, x_host=trusted_proxies,
        )
    app.after_request(add_headers)


def add_headers(response: Response) -> Response:
    """Add the safety headers to one answer."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")  # frame-ancestors for browsers without CSP 2
    headers.setdefault("Referrer-Policy", "no-referrer")
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", HSTS)
    if request.path.startswith(NO_STORE_PREFIXES):
        headers["Cache-Control"] = "no-store"
    return response
