"""The scanner PWA: the blueprint serving its shell, manifest and service worker from pwa/static.

URLs (all same-origin, so the service worker's scope "/" covers the app):

- `/` the app shell (index.html); the app routes by `#/…` hashes;
- `/sw.js` the service worker, with its cache version and precache list filled in here (a hash of every file it
  precaches: any change to the app makes a new worker, whose activation deletes the stale caches);
- `/manifest.webmanifest` the web app manifest;
- `/app/<path>` the app's own modules, styles and icons (pwa/static);
- `/app/vendor/zxing-wasm/<path>` the few zxing-wasm files the camera reader needs, from pwa/node_modules
  (installed by `npm ci`, never committed): the reader module, its shared module and the `.wasm` binary.

No business logic here: the rules run in the browser (rules.js, gs1.js) and at the server's sync push.
"""
from __future__ import annotations

import hashlib
import json
import mimetypes
from pathlib import Path

from flask import Blueprint, Response, abort, send_file

from backend.errors import error_response

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
ZXING = HERE / "node_modules" / "zxing-wasm" / "dist"
# The camera fallback needs exactly these files of the zxing-wasm package (URL path -> path under dist/).
ZXING_FILES = {
    "es/reader/index.js": "es/reader/index.js",
    "es/share.js": "es/share.js",
    "reader/zxing_reader.wasm": "reader/zxing_reader.wasm",
}
# Not precached: sources of the service worker itself and files only developers read.
_NOT_PRECACHED = {"sw.js", "index.html", "manifest.webmanifest"}  # the last two are served at / and /manifest…
_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".json": "application/json",
    ".webmanifest": "application/manifest+json",
    ".wasm": "application/wasm",
    ".png": "image/png",
    ".svg": "image/svg+xml",
}

blp = Blueprint("pwa", __name__)


def _mimetype(path: Path) -> str:
    return _TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"


def _send(path: Path, *, no_cache: bool = True) -> Response:
    """A file with its right type; revalidated on every request (the service worker does the caching)."""
    response = send_file(path, mimetype=_mimetype(path), conditional=True, etag=True, max_age=0)
    if no_cache:
        response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def app_files() -> list[str]:
    """URLs of every file of the app the service worker precaches, in a stable order."""
    urls = ["/", "/manifest.webmanifest"]
    for path in sorted(STATIC.rglob("*")):
        if path.is_file() and path.name not in _NOT_PRECACHED and not path.name.startswith("."):
            urls.append("/app/" + path.relative_to(STATIC).as_posix())
    for url_path, rel in ZXING_FILES.items():
        if (ZXING / rel).is_file():
            urls.append("/app/vendor/zxing-wasm/" + url_path)
    return urls


def _file_of(url: str) -> Path:
    if url == "/":
        return STATIC / "index.html"
    if url == "/manifest.webmanifest":
        return STATIC / "manifest.webmanifest"
    if url.startswith("/app/vendor/zxing-wasm/"):
        return ZXING / ZXING_FILES[url.removeprefix("/app/vendor/zxing-wasm/")]
    return STATIC / url.removeprefix("/app/")


_version_cache: dict = {}


def cache_version() -> str:
    """A short hash of the precached files' names and contents (recomputed when any file changes)."""
    files = [(url, _file_of(url)) for url in app_files()]
    stamp = tuple((url, p.stat().st_mtime_ns, p.stat().st_size) for url, p in files)
    if _version_cache.get("stamp") != stamp:
        digest = hashlib.sha256()
        for url, path in files:
            digest.update(url.encode() + b"\0" + path.read_bytes() + b"\0")
        _version_cache.update(stamp=stamp, version=digest.hexdigest()[:16])
    return _version_cache["version"]


@blp.get("/")
def shell():
    """The app shell."""
    return _send(STATIC / "index.html")


@blp.get("/manifest.webmanifest")
def manifest():
    """The web app manifest (application/manifest+json)."""
    return _send(STATIC / "manifest.webmanifest")


@blp.get("/sw.js")
def service_worker():
    """The service worker, its cache version and precache list filled in; never cached by HTTP caches."""
    source = (STATIC / "sw.js").read_text(encoding="utf-8")
    source = source.replace('"__VERSION__"', json.dumps(cache_version()))
    source = source.replace('["__PRECACHE__"]', json.dumps(app_files()))
    response = Response(source, mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Service-Worker-Allowed"] = "/"
    return response


@blp.get("/app/vendor/zxing-wasm/<path:name>")
def zxing(name: str):
    """The self-hosted zxing-wasm reader (no CDN): only the files the camera reader needs."""
    rel = ZXING_FILES.get(name)
    if rel is None:
        abort(404)
    path = ZXING / rel
    if not path.is_file():
        return error_response(404, "not_installed", "zxing-wasm is not installed: run `npm ci` in pwa/ "
                                                    "(make setup does)")
    return _send(path)


@blp.get("/app/<path:name>")
def static_file(name: str):
    """The app's own files (ES modules, CSS, icons)."""
    path = (STATIC / name).resolve()
    if STATIC not in path.parents or not path.is_file():
        abort(404)
    return _send(path)
