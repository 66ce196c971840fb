"""The model price table: a project's own prices and the global ones (`project_id` NULL), kept in
`model_prices`; the built-in defaults come from the package (`tenbin.prices.builtin_prices`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, delete, or_, select, update

from tenbin.errors import InvalidInput, NotFound
from tenbin.prices import (
    CURRENCY,
    Price,
    PriceBook,
    builtin_prices,
    check_pattern,
    check_price,
)
from tenbin.store.engine import write_transaction
from tenbin.store.lookup import now_us
from tenbin.store.models import ModelPrice
from tenbin.store.queries import iso, project_id


def _price(row: Any) -> Price:
    return Price(row.pattern, row.prompt_per_1m, row.completion_per_1m, row.valid_from_us,
                 "global" if row.project_id is None else "project", row.id, row.id)


def _rows(conn: Connection, pid: int) -> list[Any]:
    return conn.execute(select(ModelPrice).where(or_(ModelPrice.project_id == pid, ModelPrice.project_id.is_(None)))
                        .order_by(ModelPrice.id)).all()


def price_book(conn: Connection, pid: int) -> PriceBook:
    """Every entry project `pid` sees, in precedence order: its own, the global ones, the built-ins."""
    return PriceBook([*(_price(r) for r in _rows(conn, pid)), *builtin_prices()])


def as_dict(price: Price, project: str | None = None) -> dict[str, Any]:
    return {"id": price.id, "scope": price.scope, "project": project if price.scope == "project" else None,
            "pattern": price.pattern, "kind": price.kind, "prompt_per_1m": price.prompt_per_1m,
            "completion_per_1m": price.completion_per_1m, "currency": CURRENCY,
            "valid_from": iso(price.valid_from_us)}


def list_prices(engine: Engine, project: str) -> list[dict[str, Any]]:
    """The project's effective table, the entry that wins a tie first (see `tenbin.prices`)."""
    with engine.connect() as conn:
        book = price_book(conn, project_id(conn, project))
    return [as_dict(p, project) for p in book.entries]


def check_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """The columns of a price from `pattern`, `prompt_per_1m`, `completion_per_1m`, `valid_from_us`."""
    valid_from = spec.get("valid_from_us")
    if valid_from is not None and (isinstance(valid_from, bool) or not isinstance(valid_from, int) or valid_from < 0):
        raise InvalidInput(f"valid_from must be a time after 1970; got {valid_from!r}")
    return {"pattern": check_pattern(spec.get("pattern", "")),
            "prompt_per_1m": check_price(spec.get("prompt_per_1m"), "prompt_per_1m"),
            "completion_per_1m": check_price(spec.get("completion_per_1m"), "completion_per_1m"),
            "valid_from_us": valid_from}


def _duplicate(conn: Connection, owner: int | None, values: dict[str, Any], except_id: int | None) -> Any:
    """The other row of the same owner with the same pattern (any case) and valid-from, if any."""
    stmt = select(ModelPrice).where(
        ModelPrice.project_id.is_(None) if owner is None else ModelPrice.project_id == owner)
    return next((row for row in conn.execute(stmt) if row.id != except_id and row.valid_from_us == values["valid_from_us"]
                 and row.pattern.lower() == values["pattern"].lower()), None)


def _refuse_duplicate(conn: Connection, owner: int | None, values: dict[str, Any], except_id: int | None) -> None:
    row = _duplicate(conn, owner, values, except_id)
    if row is not None:
        when = f"valid from {iso(row.valid_from_us)}" if row.valid_from_us is not None else "with no valid-from"
        raise InvalidInput(f"there is already a price for {row.pattern!r} {when} (id {row.id}); change that one, "
                           "or give this one another valid-from time")


def create_price(engine: Engine, project: str, spec: dict[str, Any], *, is_global: bool = False,
                 replace: bool = False) -> dict[str, Any]:
    """Add a price to `project` (or, `is_global`, to every project). A price with the same pattern and
    valid-from is refused, or with `replace` changed instead (`created` in the answer says which)."""
    values = check_spec(spec)
    with write_transaction(engine) as conn:
        pid = project_id(conn, project)
        owner = None if is_global else pid
        now = now_us()
        if replace and (row := _duplicate(conn, owner, values, None)) is not None:
            conn.execute(update(ModelPrice).where(ModelPrice.id == row.id).values(updated_us=now, **values))
            return {**_get(conn, pid, project, row.id), "created": False}
        _refuse_duplicate(conn, owner, values, None)
        new_id = conn.execute(ModelPrice.__table__.insert().values(
            project_id=owner, created_us=now, updated_us=now, **values)).inserted_primary_key[0]
        return {**_get(conn, pid, project, new_id), "created": True}


def _owned(conn: Connection, pid: int, price_id: int) -> Any:
    row = conn.execute(select(ModelPrice).where(ModelPrice.id == price_id)).first()
    if row is None or row.project_id not in (None, pid):
        raise NotFound(f"no model price with id {price_id} in this project; list them with GET …/model-prices "
                       "(built-in prices have no id: add your own entry to override one)")
    return row


def _get(conn: Connection, pid: int, project: str, price_id: int) -> dict[str, Any]:
    return as_dict(_price(_owned(conn, pid, price_id)), project)


def get_price(engine: Engine, project: str, price_id: int) -> dict[str, Any]:
    with engine.connect() as conn:
        return _get(conn, project_id(conn, project), project, price_id)


def is_global(engine: Engine, project: str, price_id: int) -> bool:
    """Whether the price `price_id` seen from `project` is a global one (NotFound if it is not seen)."""
    with engine.connect() as conn:
        return _owned(conn, project_id(conn, project), price_id).project_id is None


def update_price(engine: Engine, project: str, price_id: int, spec: dict[str, Any]) -> dict[str, Any]:
    """Change a price; fields missing from `spec` keep their value (valid_from_us None clears it
    only when given)."""
    with write_transaction(engine) as conn:
        pid = project_id(conn, project)
        row = _owned(conn, pid, price_id)
        current = {"pattern": row.pattern, "prompt_per_1m": row.prompt_per_1m,
                   "completion_per_1m": row.completion_per_1m, "valid_from_us": row.valid_from_us}
        values = check_spec({**current, **spec})
        _refuse_duplicate(conn, row.project_id, values, price_id)
        conn.execute(update(ModelPrice).where(ModelPrice.id == price_id).values(updated_us=now_us(), **values))
        return _get(conn, pid, project, price_id)


def delete_price(engine: Engine, project: str, price_id: int) -> None:
    with write_transaction(engine) as conn:
        _owned(conn, project_id(conn, project), price_id)
        conn.execute(delete(ModelPrice).where(ModelPrice.id == price_id))
