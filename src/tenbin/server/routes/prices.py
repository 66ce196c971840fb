"""Model prices and costs over REST: the project's price table (its own entries, global ones and the
built-in defaults, in precedence order), add/change/delete an entry, recompute past spans over a
time range, and a cost summary (total, by model, by day). How a cost is computed and why it is
stored: `tenbin.costs`; which price wins: `tenbin.prices`."""

from __future__ import annotations

import time

from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from pydantic import BaseModel, Field

from tenbin import config, costs
from tenbin.errors import Forbidden
from tenbin.server.auth import Access, reader, writer
from tenbin.server.routes.common import FilterParam, TimeParam, parse_time, span_query
from tenbin.store import prices
from tenbin.store.costs import cost_summary

router = APIRouter(tags=["costs"])
PATTERN_DOC = "exact model name (gpt-4o), glob (gpt-4o-mini*: * any characters, ? one) or re:<regex>; any case"


class PriceIn(BaseModel):
    pattern: str = Field(..., max_length=200, description=PATTERN_DOC)
    prompt_per_1m: float = Field(..., description="USD per 1M prompt tokens")
    completion_per_1m: float = Field(..., description="USD per 1M completion tokens")
    valid_from: str | None = Field(None, description="ISO-8601 time or epoch seconds: spans starting at or after "
                                                     "it use this price (default: every span)")
    is_global: bool = Field(False, alias="global", description="true: a global price, seen by every project "
                                                               "(refused with TENBIN_AUTH=1: a key has one project)")


class PricePatch(BaseModel):
    """Only the fields given change; valid_from null makes the price apply to every span."""

    model_config = {"extra": "forbid"}
    pattern: str | None = Field(None, max_length=200, description=PATTERN_DOC)
    prompt_per_1m: float | None = None
    completion_per_1m: float | None = None
    valid_from: str | None = None


class RecomputeIn(BaseModel):
    start: str | None = Field(None, description="ISO-8601 time or epoch seconds (default: the first span)")
    end: str | None = Field(None, description="exclusive (default: now and later)")


def _engine(request: Request) -> Any:
    return request.app.state.engine


def _spec(body: BaseModel) -> dict[str, Any]:
    spec = body.model_dump(exclude_unset=True, exclude={"is_global"})
    if "valid_from" in spec:
        spec["valid_from_us"] = parse_time(spec.pop("valid_from"), "valid_from")
    return spec


def _check_global(auth: Access, is_global: bool) -> None:
    if is_global and auth.project is not None:
        raise Forbidden("global prices apply to every project, and this key belongs to one; add the price to "
                        "the project instead, or change global prices with TENBIN_AUTH off")


@router.get("/projects/{project}/model-prices")
def list_prices(request: Request, project: str, auth: Access = Depends(reader)) -> list[dict[str, Any]]:
    """Every price the project sees, the winner of a tie first: its own, global, built-in (`scope`)."""
    auth.check_project(project)
    return prices.list_prices(_engine(request), project)


@router.post("/projects/{project}/model-prices", status_code=201)
def create(request: Request, project: str, body: PriceIn, auth: Access = Depends(writer)) -> dict[str, Any]:
    """Add a price; it applies to spans priced from now on (POST …/recompute for past spans)."""
    auth.check_project(project)
    _check_global(auth, body.is_global)
    return prices.create_price(_engine(request), project, _spec(body), is_global=body.is_global)


@router.put("/projects/{project}/model-prices")
def set_price(request: Request, project: str, body: PriceIn, auth: Access = Depends(writer)) -> dict[str, Any]:
    """Add a price, or change the one of the same scope, pattern (any case) and valid-from (`created`)."""
    auth.check_project(project)
    _check_global(auth, body.is_global)
    return prices.create_price(_engine(request), project, _spec(body), is_global=body.is_global, replace=True)


@router.get("/projects/{project}/model-prices/{price_id}")
def get(request: Request, project: str, price_id: int, auth: Access = Depends(reader)) -> dict[str, Any]:
    auth.check_project(project)
    return prices.get_price(_engine(request), project, price_id)


@router.patch("/projects/{project}/model-prices/{price_id}")
def change(request: Request, project: str, price_id: int, body: PricePatch,
           auth: Access = Depends(writer)) -> dict[str, Any]:
    auth.check_project(project)
    _check_global(auth, prices.is_global(_engine(request), project, price_id))
    return prices.update_price(_engine(request), project, price_id, _spec(body))


@router.delete("/projects/{project}/model-prices/{price_id}")
def delete(request: Request, project: str, price_id: int, auth: Access = Depends(writer)) -> dict[str, Any]:
    auth.check_project(project)
    _check_global(auth, prices.is_global(_engine(request), project, price_id))
    prices.delete_price(_engine(request), project, price_id)
    return {"deleted": price_id}


@router.post("/projects/{project}/model-prices/recompute")
def recompute(request: Request, project: str, body: RecomputeIn | None = None,
              auth: Access = Depends(writer)) -> dict[str, Any]:
    """Price again, with today's table, the spans starting in [start, end) whose cost is not the app's;
    returns how many spans were read, computed and left without a price."""
    auth.check_project(project)
    body = body or RecomputeIn()
    return costs.recompute(_engine(request), project, parse_time(body.start, "start"), parse_time(body.end, "end"))


@router.get("/projects/{project}/costs")
def costs_summary(request: Request, project: str, filter: FilterParam = "", start: TimeParam = None,
                  end: TimeParam = None, bucket_seconds: int | None = 86400,
                  auth: Access = Depends(reader)) -> dict[str, Any]:
    """Total cost in USD (app-sent and computed), by model, and by time bucket (default a day) and model;
    large selections are sampled like the metrics (`sample_fraction`)."""
    auth.check_project(project)
    return cost_summary(_engine(request), span_query(project, filter, start, end), bucket_seconds)


YIELD_S = 1.0


def schedule(app: FastAPI, interval_s: float | None = None) -> None:
    """Price new spans every TENBIN_COST_INTERVAL seconds on the app's scheduler (0: never); a pass
    yields to ingest (see `busy`)."""
    interval = float(config.COST_INTERVAL.get(None if interval_s is None else str(interval_s)))
    if interval <= 0:
        return

    def busy() -> bool:
        """Asked between batches: stop at shutdown. On SQLite (one writer at a time) spans waiting in the
        ingest queue go first, but for at most YIELD_S, so under sustained ingest the job still prices
        a batch every YIELD_S instead of starving; PostgreSQL writes concurrently and never waits."""
        stopping = app.state.scheduler.stopping
        if stopping.is_set():
            return True
        if app.state.engine.dialect.name != "sqlite":
            return False
        deadline = time.monotonic() + YIELD_S
        while app.state.ingestor.queued_spans > 0 and time.monotonic() < deadline:
            if stopping.wait(0.05):
                return True
        return False

    app.state.scheduler.register("costs", interval, lambda: costs.fill_pending(app.state.engine, busy))
