"""Alert webhooks: check a URL when a monitor is saved, POST an alert's JSON when it fires.

URLs must reach public hosts only (`webhook_guard`), and a delivery connects only to the addresses
it checked (`PinnedTransport`: no second DNS lookup that could be rebound). Delivery retries transport
errors, 429 and 5xx answers with exponential back-off, gives up at once on other 4xx answers (the
receiver refuses this body; retrying cannot help), and never raises: whatever happens is returned
as a `Delivery`, so a broken receiver never breaks a monitor check.
The body carries a `text` line as well, so Slack-style incoming webhooks show something readable.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from tenbin.analytics.webhook_guard import (
    PinnedTransport,
    Resolve,
    check_public,
    system_resolve,
)
from tenbin.errors import InvalidInput

log = logging.getLogger("tenbin.webhooks")


@dataclass(frozen=True)
class Policy:
    """How hard to try: per-attempt timeout, attempts in all, first back-off (doubled each retry)."""

    timeout_s: float = 5.0
    attempts: int = 3
    backoff_s: float = 1.0


DEFAULT_POLICY = Policy()

@dataclass(frozen=True)
class Delivery:
    status: str
    """`delivered` or `failed`."""
    attempts: int
    error: str | None = None


def check_url(url: Any) -> str:
    """The URL if it is an absolute http(s) URL with a public host (see `webhook_guard`);
    InvalidInput saying what is wrong."""
    if not isinstance(url, str) or not url.strip():
        raise InvalidInput("webhook_url must be an http:// or https:// URL, e.g. https://hooks.example.com/tenbin")
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https"):
        raise InvalidInput(f"webhook_url {url!r} must start with http:// or https://; got scheme {parts.scheme or 'none'!r}")
    if not parts.hostname:
        raise InvalidInput(f"webhook_url {url!r} has no host; write it like https://hooks.example.com/tenbin")
    check_public(url.strip())
    return url.strip()


def _retryable(status: int) -> bool:
    return status == 429 or status >= 500


def deliver(url: str, body: dict[str, Any], policy: Policy = DEFAULT_POLICY,
            resolve: Resolve = system_resolve) -> Delivery:
    """POST `body` as JSON to `url` until it is accepted (2xx) or the policy gives up. The host is
    resolved and checked once; a host that now reaches a non-public address is not called (the
    refusal is the delivery's error), and every attempt connects to the addresses checked."""
    error = "not attempted"
    attempt = 0
    transport = PinnedTransport(resolve)
    with httpx.Client(transport=transport, timeout=policy.timeout_s, follow_redirects=False) as client:
        for attempt in range(1, policy.attempts + 1):
            try:
                response = client.post(url, json=body, headers={"User-Agent": "tenbin-alerts"})
            except InvalidInput as exc:
                return Delivery("failed", attempt - 1, str(exc))
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"
            except Exception as exc:
                log.warning("tenbin: webhook POST to %s failed unexpectedly", url, exc_info=True)
                return Delivery("failed", attempt, f"{type(exc).__name__}: {exc}")
            else:
                if response.is_success:
                    return Delivery("delivered", attempt)
                error = f"HTTP {response.status_code}: {response.text[:200]}"
                if not _retryable(response.status_code):
                    return Delivery("failed", attempt, error)
            if attempt < policy.attempts:
                time.sleep(policy.backoff_s * 2 ** (attempt - 1))
    return Delivery("failed", attempt, error)
