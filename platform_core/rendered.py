"""Pre-rendered JSON responses: rendered once, gzipped once, validated by version.

Hot reads (the board detail, pages of GET /tasks) build plain dicts of str,
int and None from SQL rows and render them here, byte for byte as Ninja's
JSONRenderer renders the same data through the output schemas (json.dumps with
its default separators and ASCII escapes: no `default()` is ever called).

The cached copy is the gzip (level 1) body, with an ETag derived from the
version of the object it depends on (platform_core.cache.VersionedCache):

- `ETag: W/"<version>.<scope>"` where the scope names the object (a board id,
  or a digest of the query for a list page): weak, because the gzip and plain
  bodies are the same representation in two content codings. Versions never
  repeat (see VersionedCache), and the scope differs between resources, so a
  tag of one organization's resource never matches another's.
- `If-None-Match` matching the current tag: `304 Not Modified`, no body,
  no SQL (the version and the entry come from one Redis MGET).
- `Accept-Encoding` allowing gzip: the stored gzip body with
  `Content-Encoding: gzip`; otherwise the body is decompressed on the fly.
  Either way `Vary: Accept-Encoding`.
"""

import json
import zlib
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseNotModified

GZIP_LEVEL = 1
_GZIP_WBITS = 31  # zlib's gzip container (header and trailer, mtime 0)


def render_json(data: Any) -> bytes:
    """`data` (dicts, lists, str, int, None) as the API renders it (ninja's JSONRenderer)."""
    return json.dumps(data).encode()


def gzip_body(body: bytes) -> bytes:
    return zlib.compress(body, GZIP_LEVEL, wbits=_GZIP_WBITS)


@dataclass(frozen=True)
class Rendered:
    """A rendered body: its ETag (None when unversioned: the response cache is
    off) and the gzip and/or plain bytes (a cached copy holds the gzip only)."""

    etag: str | None
    gzip: bytes | None = None
    plain: bytes | None = None

    def json(self) -> bytes:
        if self.plain is not None:
            return self.plain
        assert self.gzip is not None
        return zlib.decompress(self.gzip, wbits=_GZIP_WBITS)


def weak_etag(version: int | None, scope: str) -> str | None:
    return None if version is None else f'W/"{version}.{scope}"'


def _codings(header: str) -> dict[str, float]:
    """Accept-Encoding as {coding: q} (RFC 9110 12.5.3); a malformed q counts as 0."""
    codings: dict[str, float] = {}
    for part in header.split(","):
        name, _, params = part.partition(";")
        name = name.strip().lower()
        if not name:
            continue
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value.strip())
                except ValueError:
                    q = 0.0
        codings[name] = q
    return codings


def accepts_gzip(header: str | None) -> bool:
    if not header:
        return False
    codings = _codings(header)
    for name in ("gzip", "x-gzip"):
        if name in codings:
            return codings[name] > 0
    return codings.get("*", 0) > 0


def _matches(if_none_match: str | None, etag: str) -> bool:
    """Weak comparison (RFC 9110 13.1.2): `*` or any listed tag equal once `W/` is stripped."""
    if not if_none_match:
        return False
    opaque = etag.removeprefix("W/")
    for candidate in if_none_match.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == opaque:
            return True
    return False


def rendered_response(request: HttpRequest, rendered: Rendered, *, content_type: str) -> HttpResponse:
    """304 for a matching If-None-Match; else the gzip body if the client takes it, the plain one otherwise."""
    response: HttpResponse
    if rendered.etag is not None and _matches(request.headers.get("If-None-Match"), rendered.etag):
        response = HttpResponseNotModified()
    elif rendered.gzip is not None and accepts_gzip(request.headers.get("Accept-Encoding")):
        response = HttpResponse(rendered.gzip, content_type=content_type)
        response["Content-Encoding"] = "gzip"
    else:
        response = HttpResponse(rendered.json(), content_type=content_type)
    if rendered.etag is not None:
        response["ETag"] = rendered.etag
    response["Vary"] = "Accept-Encoding"
    return response
