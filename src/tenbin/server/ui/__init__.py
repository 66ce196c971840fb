"""The web UI: server-rendered Jinja2 pages over the store's query layer, at `/`.

Every module in `pages/` that defines `router` is mounted; static files (and plotly.js, served
from the `plotly` package's own file — nothing from a CDN) live under /static.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import plotly
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from tenbin.errors import TenbinError, Unauthorized
from tenbin.server.ui import pages
from tenbin.server.ui.render import render

PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def mount(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=str(Path(__file__).parent / "static")), name="static")

    @app.get("/static-vendor/plotly.min.js", include_in_schema=False)
    def plotly_js() -> FileResponse:
        return FileResponse(PLOTLY_JS, media_type="text/javascript", headers={"Cache-Control": "max-age=86400"})

    for info in sorted(pkgutil.iter_modules(pages.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{pages.__name__}.{info.name}")
        if hasattr(module, "router"):
            app.include_router(module.router, include_in_schema=False)


def is_ui_request(request: Request) -> bool:
    path = request.url.path
    return not (path.startswith("/api/") or path.startswith("/v1/") or path in ("/docs", "/openapi.json"))


def ui_error(request: Request, exc: TenbinError) -> Response:
    """An HTML answer to an error on a page: sign-in for 401, an explanatory page otherwise."""
    if isinstance(exc, Unauthorized):
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
    return render(request, "error.html", status_code=exc.status_code, message=str(exc), status=exc.status_code)
