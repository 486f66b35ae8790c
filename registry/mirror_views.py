"""Serves the public store (``registry.public_store``) under ``/mirror/``: the same paths a
static host or CDN would serve from a copy of the folder (docs/mirroring.md).

Only names the publishers write are served (a strict pattern each, so no path can climb
out of the store). Immutable files (tiles, entry bundles, range files, manifests) are
cached for a year; those that move (the two logs' ``checkpoint`` and ``ranges/latest``) for a few
seconds, with an ETag so a poller gets a 304 while nothing changed.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable

from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseNotModified
from django.views.decorators.http import require_safe

from registry.public_store import PublicStore, public_root

_N = r"(?:x\d{3}/)*\d{3}(?:\.p/(?:[1-9]|[1-9]\d|1\d\d|2[0-4]\d|25[0-5]))?"
IMMUTABLE = re.compile(
    rf"^(?:(?:log|receipts)/tile/(?:[0-9]|[1-5][0-9]|6[0-3])/{_N}"
    rf"|(?:log|receipts)/tile/entries/{_N}"
    r"|ranges/(?:0|[1-9]\d{0,18})/(?:manifest|[0-9a-f]{3})|ranges/empty)$"
)
MOVING = {"log/checkpoint", "receipts/checkpoint", "ranges/latest"}
FOREVER = "public, max-age=31536000, immutable"
BRIEFLY = "public, max-age=5"


def _content_type(path: str) -> str:
    if path.startswith(("log/tile/", "receipts/tile/")):
        return "application/octet-stream"
    return "text/plain; charset=utf-8"


@functools.lru_cache(maxsize=4)
def _store(root: str) -> PublicStore:
    """The store of a configured root (keyed by the setting's value, so nothing goes stale)."""
    return PublicStore(root)


@require_safe
def mirror_file(request: HttpRequest, path: str) -> HttpResponse:
    moving = path in MOVING
    if not moving and not IMMUTABLE.match(path):
        raise Http404("No such public file.")
    store = _store(public_root())
    if moving:
        data = store.read_if_exists(path)
        if data is None:
            raise Http404("Nothing has been published yet.")
        etag = f'"{hashlib.sha256(data).hexdigest()[:32]}"'
        if etag in request.headers.get("If-None-Match", ""):
            response: HttpResponse = HttpResponseNotModified()
        else:
            response = HttpResponse(data, content_type=_content_type(path))
        response["ETag"] = etag
        response["Cache-Control"] = BRIEFLY
    else:
        try:
            handle = open(store.path(path), "rb") if store.local else store.open(path)  # noqa: SIM115
        except (FileNotFoundError, IsADirectoryError):
            raise Http404("No such public file.") from None
        response = FileResponse(handle, content_type=_content_type(path))
        response["Cache-Control"] = FOREVER
    # Public, signed data: any page or mirror may read it.
    response["Access-Control-Allow-Origin"] = "*"
    return response


class MirrorMiddleware:
    """Answers ``/mirror/`` right after WhiteNoise, as static files are answered: these files
    are public and the same for everyone, so sessions, CSRF, authentication and messages have
    nothing to do with them (a range file is served at the rate of a static file: bench/
    ranges.py). Anything it does not find goes on to the site's own 404 page."""

    PREFIX = "/mirror/"

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info.startswith(self.PREFIX):
            try:
                return mirror_file(request, request.path_info[len(self.PREFIX) :])
            except Http404:
                pass
        return self.get_response(request)
