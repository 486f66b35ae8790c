"""Serves the public store (``registry.public_store``) under ``/mirror/``: the same paths a
static host or CDN would serve from a copy of the folder (docs/mirroring.md).

Only names the publishers write are served (a strict pattern each, so no path can climb
out of the store). Immutable files (tiles, entry bundles, range files, manifests) are
cached for a year; the two that move (``log/checkpoint`` and ``ranges/latest``) for a few
seconds, with an ETag so a poller gets a 304 while nothing changed.
"""

from __future__ import annotations

import hashlib
import re

from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseNotModified
from django.views.decorators.http import require_safe

from registry.public_store import PublicStore

_N = r"(?:x\d{3}/)*\d{3}(?:\.p/(?:[1-9]|[1-9]\d|1\d\d|2[0-4]\d|25[0-5]))?"
IMMUTABLE = re.compile(
    rf"^(?:log/tile/(?:[0-9]|[1-5][0-9]|6[0-3])/{_N}|log/tile/entries/{_N}"
    r"|ranges/(?:0|[1-9]\d{0,18})/(?:manifest|[0-9a-f]{3})|ranges/empty)$"
)
MOVING = {"log/checkpoint", "ranges/latest"}
FOREVER = "public, max-age=31536000, immutable"
BRIEFLY = "public, max-age=5"


def _content_type(path: str) -> str:
    if path.startswith("log/tile/"):
        return "application/octet-stream"
    return "text/plain; charset=utf-8"


@require_safe
def mirror_file(request: HttpRequest, path: str) -> HttpResponse:
    moving = path in MOVING
    if not moving and not IMMUTABLE.match(path):
        raise Http404("No such public file.")
    store = PublicStore()
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
