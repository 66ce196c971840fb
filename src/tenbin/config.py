"""Every tenbin setting in one place.

Each setting is a `Setting` with an environment variable, a default and a docstring-like `doc`.
Precedence is always: explicit argument → environment variable → default. `SETTINGS` lists them
all so that the docs (README "Settings") can be checked against it by a test.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Setting:
    env: str
    default: str
    doc: str

    def get(self, override: str | None = None) -> str:
        """Return the explicit value if given, else the environment, else the default."""
        if override is not None:
            return override
        return os.environ.get(self.env, self.default)

    def get_int(self, override: int | None = None) -> int:
        return int(self.get(None if override is None else str(override)))

    def get_bool(self, override: bool | None = None) -> bool:
        if override is not None:
            return override
        return self.get().strip().lower() in {"1", "true", "yes", "on"}


def _default_db_url() -> str:
    return f"sqlite:///{Path.home() / '.tenbin' / 'tenbin.db'}"


DATABASE_URL = Setting(
    "TENBIN_DATABASE_URL",
    "",
    "SQLAlchemy URL of the store. Empty means SQLite at ~/.tenbin/tenbin.db; "
    "`postgresql://…` uses PostgreSQL through psycopg 3.",
)
HOST = Setting("TENBIN_HOST", "127.0.0.1", "Address `tenbin serve` binds to. Non-loopback needs TENBIN_AUTH=1.")
PORT = Setting("TENBIN_PORT", "6206", "Port `tenbin serve` listens on (OTLP/HTTP, REST API and UI).")
AUTH = Setting(
    "TENBIN_AUTH",
    "0",
    "1 = every request needs an API key: ingest a write key, queries a read key, each limited to its project.",
)
MAX_BODY_BYTES = Setting(
    "TENBIN_MAX_BODY_BYTES",
    str(16 * 1024 * 1024),
    "Largest OTLP request body accepted, after gunzip; larger bodies get 413.",
)
QUEUE_MAX_SPANS = Setting(
    "TENBIN_QUEUE_MAX_SPANS",
    "100000",
    "Spans the ingest queue holds before new requests get 429 with Retry-After.",
)
BATCH_MAX_SPANS = Setting(
    "TENBIN_BATCH_MAX_SPANS",
    "5000",
    "Most spans the single writer commits in one transaction.",
)
ENDPOINT = Setting(
    "TENBIN_ENDPOINT",
    "",
    "Base URL of a tenbin server for the SDK and client, e.g. http://127.0.0.1:6206. Empty: SDK is a no-op.",
)
PROJECT = Setting("TENBIN_PROJECT", "default", "Project the SDK reports spans under.")
API_KEY = Setting("TENBIN_API_KEY", "", "API key the SDK, client and CLI send as `Authorization: Bearer`.")

LLM_BASE_URL = Setting(
    "TENBIN_LLM_BASE_URL",
    "http://127.0.0.1:6207/v1",
    "OpenAI-compatible endpoint for tenbin's own LLM calls; the default is `tenbin llm serve` (local model).",
)
LLM_MODEL = Setting("TENBIN_LLM_MODEL", "smollm2-135m-instruct", "Model name sent with each LLM call.")
LLM_API_KEY = Setting("TENBIN_LLM_API_KEY", "", "API key for the LLM endpoint (none needed for the local model).")
LLM_TIMEOUT = Setting("TENBIN_LLM_TIMEOUT", "60", "Seconds before an LLM call times out (then retried, then an error).")
LLM_SCHEMA_STYLE = Setting(
    "TENBIN_LLM_SCHEMA_STYLE",
    "json_object",
    "How a reply's JSON schema is sent: `json_object` (response_format.schema: llama-cpp-python, the bundled "
    "local model) or `json_schema` (OpenAI structured outputs: OpenAI, vLLM, Ollama, llama.cpp's own server).",
)

DEMO_SESSIONS = Setting("TENBIN_DEMO_SESSIONS", "150", "Conversations `make demo` runs through the docs chatbot.")
ONLINE_EVAL_INTERVAL = Setting(
    "TENBIN_ONLINE_EVAL_INTERVAL",
    "30",
    "Seconds between the server's passes over enabled online eval rules; 0 disables (run them by hand).",
)
ALERT_WEBHOOK_URL = Setting(
    "TENBIN_ALERT_WEBHOOK_URL",
    "",
    "Where alerts of monitors without their own webhook_url are POSTed (JSON). Empty: only those with one.",
)
WEBHOOK_ALLOW_PRIVATE = Setting(
    "TENBIN_WEBHOOK_ALLOW_PRIVATE",
    "0",
    "1 = alert webhooks may reach loopback, private, link-local and other non-public addresses (local use); "
    "off, such URLs are refused when saved and when an alert is sent.",
)
MONITOR_INTERVAL = Setting(
    "TENBIN_MONITOR_INTERVAL",
    "60",
    "Seconds between the server's passes over due monitors (each monitor has its own interval_s); 0 disables.",
)
COST_INTERVAL = Setting(
    "TENBIN_COST_INTERVAL",
    "10",
    "Seconds between the server's passes computing the cost of new spans from model prices (see README "
    "\"Cost\"); 0 disables: costs then come from the app or `tenbin prices recompute` only.",
)

SETTINGS: tuple[Setting, ...] = (
    DATABASE_URL,
    HOST,
    PORT,
    AUTH,
    MAX_BODY_BYTES,
    QUEUE_MAX_SPANS,
    BATCH_MAX_SPANS,
    ENDPOINT,
    PROJECT,
    API_KEY,
    LLM_BASE_URL,
    LLM_MODEL,
    LLM_API_KEY,
    LLM_TIMEOUT,
    DEMO_SESSIONS,
    ONLINE_EVAL_INTERVAL,
    ALERT_WEBHOOK_URL,
    WEBHOOK_ALLOW_PRIVATE,
    MONITOR_INTERVAL,
    COST_INTERVAL,
)


def database_url(override: str | None = None) -> str:
    """The store URL; the SQLite default lives under the user's home so `tenbin serve` needs no set-up."""
    return DATABASE_URL.get(override) or _default_db_url()
