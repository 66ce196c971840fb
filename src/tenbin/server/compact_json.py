"""Large JSON answers (an analysis's points: 10⁵ points, a few MB) written compactly and gzipped
when the client accepts it. Shared by the REST route and the embeddings page, which serve the
same column-wise points format. Points arrays compress about 4:1, and the app has no gzip
middleware (OTLP bodies are compressed by the exporter, most answers are small)."""

from __future__ import annotations

import gzip
import json
from typing import Any

from fastapi import Request
from fastapi.responses import Response

LEVEL = 5
"""gzip level: most of level 9's saving at a fraction of its time."""


def compact_json(request: Request, data: Any, max_age_s: int | None = None) -> Response:
    """`data` as JSON without spaces, gzipped when `Accept-Encoding` allows; `max_age_s` lets a
    browser cache a result that no longer changes (a finished run's points)."""
    body = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
    headers = {"Vary": "Accept-Encoding"}
    if max_age_s:
        headers["Cache-Control"] = f"private, max-age={max_age_s}"
    if "gzip" in request.headers.get("accept-encoding", ""):
        body, headers["Content-Encoding"] = gzip.compress(body, compresslevel=LEVEL), "gzip"
    return Response(body, media_type="application/json", headers=headers)
