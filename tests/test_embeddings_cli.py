"""`tenbin embed` against a real database: a progress bar, resumable, idempotent, clear errors."""

from __future__ import annotations

from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from tenbin.cli import app
from tenbin.store.models import SpanEmbedding
from tests.embed_helpers import topic_spans

runner = CliRunner()


def url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def vectors(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(SpanEmbedding)).scalar() or 0)


def test_embed_command_shows_progress_and_embeds_every_llm_span(engine: Engine) -> None:
    topic_spans(engine, "docs")
    args = ["embed", "--project", "docs", "--model", "wordllama", "--batch-size", "4", "--database-url", url(engine)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "9/9" in result.output and "wordllama-l2-supercat-256" in result.output
    assert "job 'embed:wordllama-l2-supercat-256:input+output' is done" in result.output
    assert vectors(engine) == 18
    again = runner.invoke(app, args)
    assert again.exit_code == 0 and vectors(engine) == 18


def test_embed_command_errors_name_the_fix(engine: Engine) -> None:
    topic_spans(engine, "docs")
    base = ["embed", "--database-url", url(engine)]
    missing = runner.invoke(app, [*base, "--project", "nope", "--model", "wordllama"])
    assert missing.exit_code == 1 and "no project named 'nope'" in missing.output
    bad_field = runner.invoke(app, [*base, "--project", "docs", "--model", "wordllama", "--field", "prompt"])
    assert bad_field.exit_code == 1 and "--field must be one of input, output, both" in bad_field.output
    bad_model = runner.invoke(app, [*base, "--project", "docs", "--model", "bert"])
    assert bad_model.exit_code == 1 and "choose one of minilm, wordllama, openai" in bad_model.output
    assert vectors(engine) == 0
