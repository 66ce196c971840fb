"""Model prices and costs over REST, through the Python client and `tenbin prices …`, against a real
server on SQLite and PostgreSQL: CRUD, recompute, the cost summary, bad input and key scopes."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from tenbin import costs
from tenbin.cli import app
from tenbin.client import Client
from tenbin.errors import Forbidden, InvalidInput, NotFound, TenbinError
from tenbin.loopback import LoopbackServer
from tenbin.server.app import create_app
from tenbin.store.keys import create_key
from tenbin.store.queries import get_span, iso
from tests.conftest import RunningServer
from tests.test_costs import DAY_US, T0, seed, span

runner = CliRunner()
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def cli(server: RunningServer, *args: str) -> Any:
    return runner.invoke(app, [*args, "-p", "shop", "--endpoint", server.url], terminal_width=250)


def test_prices_crud_recompute_and_costs_through_the_client(engine: Engine, server: RunningServer) -> None:
    old, new = span("acme-large", 1000, 2000, start=T0), span("acme-large", 1000, 2000, start=T0 + DAY_US)
    seed(engine, [old, new, span("gpt-4o", 1_000_000, 0, cost=0.125, start=T0)])
    with Client(server.url) as c:
        made = c.add_model_price("acme-*", 1.0, 2.0, "shop")
        assert made["scope"] == "project" and made["kind"] == "glob" and made["currency"] == "USD"
        assert [p["pattern"] for p in c.model_prices("shop")][:1] == ["acme-*"]
        costs.fill_pending(engine)
        assert get_span(engine, new["span_id"])["cost"] == 0.005
        changed = c.update_model_price(made["id"], "shop", prompt_per_1m=3.0, valid_from=iso(T0 + DAY_US))
        assert changed["prompt_per_1m"] == 3.0 and changed["valid_from"] == iso(T0 + DAY_US)
        done = c.recompute_costs("shop", start=iso(T0))
        assert (done["spans"], done["computed"], done["unpriced"]) == (2, 1, 1)
        assert get_span(engine, new["span_id"])["cost"] == 0.007 and get_span(engine, old["span_id"])["cost"] is None
        summary = c.costs("shop")
        assert summary["total_cost"] == pytest.approx(0.132) and summary["computed_cost"] == pytest.approx(0.007)
        assert [m["model"] for m in summary["by_model"]] == ["gpt-4o", "acme-large"]
        assert c.delete_model_price(made["id"], "shop") == {"deleted": made["id"]}
        with pytest.raises(NotFound, match=f"no model price with id {made['id']}"):
            c.delete_model_price(made["id"], "shop")
        traces = {t["trace_id"]: t for t in c.traces("shop")}
        assert traces[new["trace_id"]]["cost"] == 0.007 and traces[new["trace_id"]]["cost_computed"] is True


@pytest.mark.parametrize("body, status, message", [
    ({"pattern": "x", "prompt_per_1m": -0.5, "completion_per_1m": 1}, 400, "prompt_per_1m must be from 0"),
    ({"pattern": "re:(", "prompt_per_1m": 1, "completion_per_1m": 1}, 400, "not a valid regular expression"),
    ({"pattern": "x", "prompt_per_1m": 1, "completion_per_1m": 1, "valid_from": "soon"}, 400,
     "valid_from='soon' is not an ISO-8601 time"),
    ({"pattern": "x", "prompt_per_1m": "free", "completion_per_1m": 1}, 422, "prompt_per_1m"),
    ({"pattern": "x", "prompt_per_1m": 1}, 422, "completion_per_1m"),
])
def test_bad_input_is_refused_and_nothing_is_stored(engine: Engine, server: RunningServer, body: dict[str, Any],
                                                    status: int, message: str) -> None:
    seed(engine, [])
    r = httpx.post(f"{server.url}/api/v1/projects/shop/model-prices", json=body)
    assert r.status_code == status and message in r.text
    listed = httpx.get(f"{server.url}/api/v1/projects/shop/model-prices").json()
    assert {p["scope"] for p in listed} == {"builtin"}


@SQLITE_ONLY
def test_unknown_projects_bad_ranges_and_bad_filters(engine: Engine, server: RunningServer) -> None:
    seed(engine, [])
    with Client(server.url) as c:
        with pytest.raises(NotFound, match="no project named 'nope'"):
            c.add_model_price("x", 1, 1, "nope")
        with pytest.raises(NotFound, match="no project named 'nope'"):
            c.costs("nope")
        with pytest.raises(InvalidInput, match="ends .* before it starts"):
            c.recompute_costs("shop", start=iso(T0 + DAY_US), end=iso(T0))
        with pytest.raises(InvalidInput, match="unknown field"):
            c.costs("shop", filter="price > 1")
        with pytest.raises(TenbinError, match="Extra inputs are not permitted"):
            c.update_model_price(c.add_model_price("x", 1, 1, "shop")["id"], "shop", currency="EUR")
    r = httpx.post(f"{server.url}/api/v1/projects/nope/model-prices/recompute", json={})
    assert r.status_code == 404


@SQLITE_ONLY
def test_global_prices_need_auth_off_and_keys_see_their_project_only(engine: Engine) -> None:
    seed(engine, [])
    seed(engine, [], project="other")
    key = create_key(engine, "shop", "read,write", "ana")
    reader = create_key(engine, "shop", "read", "bob")
    with LoopbackServer(create_app(engine=engine, auth=True)) as srv, Client(srv.url, key) as c:
        with pytest.raises(Forbidden, match="global prices apply to every project"):
            c.add_model_price("x*", 1, 1, "shop", is_global=True)
        with pytest.raises(Forbidden, match="belongs to project 'shop'"):
            c.add_model_price("x*", 1, 1, "other")
        assert c.add_model_price("x*", 1, 1, "shop")["scope"] == "project"
        with Client(srv.url, reader) as r, pytest.raises(Forbidden, match="needs 'write'"):
            r.recompute_costs("shop")
    with LoopbackServer(create_app(engine=engine, auth=False)) as srv, Client(srv.url) as c:
        shared = c.add_model_price("y*", 1, 1, "shop", is_global=True)
        assert shared["scope"] == "global" and shared["project"] is None
        assert any(p["id"] == shared["id"] for p in c.model_prices("other"))


def test_cli_set_list_recompute_delete(engine: Engine, server: RunningServer) -> None:
    row = span("acme-large", 1_000_000, 1_000_000, start=T0)
    seed(engine, [row])
    added = cli(server, "prices", "set", "acme-*", "--prompt", "1", "--completion", "2")
    assert added.exit_code == 0 and "added project price 1: 'acme-*' $1 prompt, $2 completion" in added.output
    changed = cli(server, "prices", "set", "ACME-*", "--prompt", "1.5", "--completion", "2")
    assert changed.exit_code == 0 and "changed project price 1" in changed.output
    later = cli(server, "prices", "set", "acme-*", "--prompt", "9", "--completion", "9", "--valid-from", "2099-01-01")
    assert later.exit_code == 0 and "added project price 2" in later.output and "from 2099-01-01T00:00:00" in later.output
    listed = cli(server, "prices", "list", "--no-builtin")
    assert listed.exit_code == 0 and "acme-*" in listed.output and "gpt-4o" not in listed.output
    assert "gpt-4o-mini*" in cli(server, "prices", "list").output
    done = cli(server, "prices", "recompute", "--start", iso(T0) or "")
    assert done.exit_code == 0 and "1 spans re-priced: 1 with a computed cost, 0 without" in done.output
    assert get_span(engine, row["span_id"])["cost"] == 3.5
    assert cli(server, "prices", "delete", "1").exit_code == 0
    gone = cli(server, "prices", "delete", "1")
    assert gone.exit_code == 1 and "no model price with id 1" in gone.output
    negative = cli(server, "prices", "set", "x", "--prompt", "-1", "--completion", "0")
    assert negative.exit_code == 1 and "prompt_per_1m must be from 0" in negative.output
