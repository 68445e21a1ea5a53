"""The baseline: a minimal Flask app serving fixed bytes from memory.

bench/common.py writes our server's response (body and headers) to BENCH_BASELINE_DIR and
runs this app under the same gunicorn.conf.py: `gunicorn -c gunicorn.conf.py
baseline_app:app`. If-None-Match matching the ETag is answered 304, like ours.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from flask import Flask, Response, request

_DIR = Path(os.environ["BENCH_BASELINE_DIR"])
BODY = (_DIR / "body").read_bytes()
HEADERS: dict[str, str] = json.loads((_DIR / "headers.json").read_text())
ETAG = HEADERS.get("ETag", "")

app = Flask(__name__)


@app.get("/healthz")
def healthz() -> Response:
    return Response("ok")


@app.get("/<path:anything>")
def body(anything: str) -> Response:
    if ETAG and request.headers.get("If-None-Match") == ETAG:
        return Response(status=304, headers={"ETag": ETAG})
    return Response(BODY, headers=HEADERS)
