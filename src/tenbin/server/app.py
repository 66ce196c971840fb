"""create_app(): the one FastAPI app that serves OTLP ingest, the REST API (OpenAPI at /docs) and the UI."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, Response
from sqlalchemy import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException

from tenbin import config
from tenbin.errors import FilterError, NotFound, TenbinError
from tenbin.ingest import Ingestor
from tenbin.scheduler import Scheduler
from tenbin.server import otlp, ui
from tenbin.server.routes import ROUTERS, monitors, online_evals, prices
from tenbin.store import migrate
from tenbin.store.engine import make_engine
from tenbin.store.interrupted import mark_interrupted
from tenbin.store.lookup import now_us


def create_app(
    database_url: str | None = None,
    *,
    engine: Engine | None = None,
    auth: bool | None = None,
    max_body_bytes: int | None = None,
    queue_max_spans: int | None = None,
) -> FastAPI:
    """Build the server; the database is migrated to the newest schema when it starts."""
    engine = engine or make_engine(database_url)
    ingestor = Ingestor(engine, max_queued=queue_max_spans)
    scheduler = Scheduler()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        started_us = now_us()
        migrate.upgrade(engine)
        mark_interrupted(engine, started_us)  # runs a previous process left running (store/interrupted.py)
        ingestor.start()
        scheduler.start()
        yield
        scheduler.stop()
        ingestor.stop()

    app = FastAPI(title="tenbin", version="0.1.0", lifespan=lifespan)
    app.state.engine = engine
    app.state.ingestor = ingestor
    app.state.scheduler = scheduler
    online_evals.schedule(app)
    monitors.schedule(app)
    prices.schedule(app)
    app.state.auth = config.AUTH.get_bool(auth)
    app.state.max_body = config.MAX_BODY_BYTES.get_int(max_body_bytes)
    app.include_router(otlp.router)
    for router in ROUTERS:
        app.include_router(router, prefix="/api/v1")
    app.add_exception_handler(TenbinError, _tenbin_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    ui.mount(app)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, object]:
        return {"ok": True, "queued_spans": ingestor.queued_spans}

    return app


async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
    """Unknown pages get the UI's error page; the API keeps FastAPI's JSON answer."""
    if ui.is_ui_request(request) and exc.status_code == 404:
        return ui.ui_error(request, NotFound(f"there is no page at {request.url.path}"))
    return await http_exception_handler(request, exc)


async def _tenbin_error(request: Request, exc: TenbinError) -> Response:
    if ui.is_ui_request(request):
        return ui.ui_error(request, exc)
    body: dict[str, object] = {"detail": str(exc)}
    if isinstance(exc, FilterError):
        body["part"] = exc.part
    headers = {"Retry-After": "1"} if exc.status_code in (429, 503) else None
    return JSONResponse(body, status_code=exc.status_code, headers=headers)
