"""The `tenbin` CLI against a real store and a real running server."""

from __future__ import annotations

import json

import httpx
import pandas as pd
from typer.testing import CliRunner

from tenbin.cli import app
from tenbin.store import migrate
from tenbin.store.keys import lookup_key
from tests.otlp_data import llm_attrs, make_request, make_span

runner = CliRunner()


def seed(server) -> None:  # type: ignore[no-untyped-def]
    spans = [make_span("llm", attrs=llm_attrs("billing")), make_span("tool", attrs={"openinference.span.kind": "TOOL"})]
    r = httpx.post(f"{server.url}/v1/traces", content=make_request(spans, "cli").SerializeToString(),
                   headers={"content-type": "application/x-protobuf"})
    assert r.status_code == 200


def test_db_upgrade_and_keys_create(database_url: str, engine) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(app, ["db", "upgrade", "--database-url", database_url])
    assert result.exit_code == 0 and f"revision {migrate.current_revision(engine)}" in result.output
    result = runner.invoke(app, ["keys", "create", "--project", "team", "--scopes", "read", "--database-url", database_url])
    assert result.exit_code == 0, result.output
    key = result.output.strip().splitlines()[-1]
    info = lookup_key(engine, key)
    assert info is not None and info.project == "team" and info.scopes == {"read"}
    bad = runner.invoke(app, ["keys", "create", "--project", "team", "--scopes", "root", "--database-url", database_url])
    assert bad.exit_code == 1 and "scopes" in bad.output


def test_spans_ls_filters(server) -> None:  # type: ignore[no-untyped-def]
    seed(server)
    result = runner.invoke(app, ["spans", "ls", "-p", "cli", "--filter", 'kind == "LLM"', "--endpoint", server.url])
    assert result.exit_code == 0, result.output
    assert "gpt-4o" in result.output and "TOOL" not in result.output and "1 spans" in result.output
    bad = runner.invoke(app, ["spans", "ls", "-p", "cli", "--filter", "kind ==", "--endpoint", server.url])
    assert bad.exit_code == 1 and "error" in bad.output


def test_export_jsonl_and_parquet(server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    seed(server)
    out = tmp_path / "spans.jsonl"
    result = runner.invoke(app, ["export", str(out), "-p", "cli", "--endpoint", server.url])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(r["kind"] for r in rows) == ["LLM", "TOOL"]
    pq = tmp_path / "spans.parquet"
    result = runner.invoke(app, ["export", str(pq), "-p", "cli", "--format", "parquet", "--endpoint", server.url])
    assert result.exit_code == 0, result.output
    frame = pd.read_parquet(pq)
    assert len(frame) == 2 and json.loads(frame.loc[frame.kind == "LLM", "metadata"].iloc[0]) == {"task": "billing"}
    bad = runner.invoke(app, ["export", str(tmp_path / "x"), "--format", "xml", "--endpoint", server.url])
    assert bad.exit_code == 1 and "jsonl or parquet" in bad.output


def test_serve_refuses_public_address_without_auth(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("TENBIN_AUTH", raising=False)
    result = runner.invoke(app, ["serve", "--host", "0.0.0.0"])
    assert result.exit_code == 2 and "TENBIN_AUTH=1" in result.output
