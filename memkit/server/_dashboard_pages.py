"""The dashboard's two HTML pages, assembled from the files in ``memkit/server/dashboard``.

The script and stylesheet are inlined under a per-response nonce and a strict Content
Security Policy: no external asset is ever loaded (the server may run offline), and a
memory's text that slipped into the DOM as markup still could not run a script.
"""

from __future__ import annotations

import functools
import html
import re
import secrets
from importlib import resources

from fastapi.responses import HTMLResponse

__all__ = ["dashboard_page", "login_page"]

_NO_CACHE = "no-store"
_SLOT = re.compile(r"\{\{(\w+)\}\}")


@functools.cache
def _asset(name: str) -> str:
    return resources.files("memkit.server").joinpath("dashboard", name).read_text("utf-8")


def _policy(nonce: str) -> str:
    return (
        "default-src 'none'; "
        f"script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; "
        "connect-src 'self'; img-src 'self' data:; form-action 'self'; "
        "base-uri 'none'; frame-ancestors 'none'"
    )


def _render(template: str, status_code: int, values: dict[str, str]) -> HTMLResponse:
    nonce = secrets.token_urlsafe(16)
    slots = {**values, "nonce": nonce, "css": _asset("dashboard.css")}
    # One pass: a value put in (a message quoting the request) is never read as a slot.
    text = _SLOT.sub(lambda found: slots[found.group(1)], _asset(template))
    return HTMLResponse(
        text,
        status_code=status_code,
        headers={
            "Content-Security-Policy": _policy(nonce),
            "Cache-Control": _NO_CACHE,
            "X-Content-Type-Options": "nosniff",
            # Not "no-referrer": with it a browser posts the forms with "Origin: null",
            # which the forms' cross-site check (``_dashboard_auth``) cannot tell apart.
            "Referrer-Policy": "same-origin",
        },
    )


def dashboard_page(project_id: str) -> HTMLResponse:
    return _render(
        "index.html", 200, {"project": html.escape(project_id), "js": _asset("dashboard.js")}
    )


def login_page(status_code: int, message: str, *, refused: bool = True) -> HTMLResponse:
    """The key form, with why it is shown: a first visit (``refused=False``), or a key
    that was wrong, revoked or another project's."""
    values = {"message": html.escape(message), "message_class": "error" if refused else "muted"}
    return _render("login.html", status_code, values)
