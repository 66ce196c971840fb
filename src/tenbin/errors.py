"""tenbin's exceptions.

    TenbinError                  base; every message says what to do next
    ├── NotFound                 unknown project / trace / span / session id (HTTP 404)
    ├── InvalidInput             a request we refuse to act on (HTTP 400)
    │   ├── FilterError          a filter expression outside the language; names the offending part
    │   └── DecodeError          an OTLP body that is not valid protobuf/JSON/UTF-8
    ├── Unauthorized             missing or unknown API key (HTTP 401)
    ├── Forbidden                key of another project or scope (HTTP 403)
    ├── PayloadTooLarge          body over TENBIN_MAX_BODY_BYTES (HTTP 413)
    ├── UnsupportedMediaType     OTLP body neither protobuf nor JSON (HTTP 415)
    ├── Overloaded               ingest queue full, retry later (HTTP 429)
    └── LLMError                 the LLM server refused or failed a call (HTTP 502)
        ├── LLMUnavailable       cannot reach TENBIN_LLM_BASE_URL, or it timed out (HTTP 503)
        └── LLMOutputError       the model's reply is not the JSON asked for, even after retries
"""

from __future__ import annotations


class TenbinError(Exception):
    status_code = 500


class NotFound(TenbinError):
    status_code = 404


class InvalidInput(TenbinError):
    status_code = 400


class FilterError(InvalidInput):
    """A filter that is not in the language; `.part` is the offending source text."""

    def __init__(self, message: str, part: str = "") -> None:
        super().__init__(message)
        self.part = part


class DecodeError(InvalidInput):
    pass


class Unauthorized(TenbinError):
    status_code = 401


class Forbidden(TenbinError):
    status_code = 403


class PayloadTooLarge(TenbinError):
    status_code = 413


class UnsupportedMediaType(TenbinError):
    status_code = 415


class Overloaded(TenbinError):
    status_code = 429


class LLMError(TenbinError):
    status_code = 502


class LLMUnavailable(LLMError):
    status_code = 503


class LLMOutputError(LLMError):
    pass
