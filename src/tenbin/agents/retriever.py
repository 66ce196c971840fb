"""Document retrieval for agents: markdown chunking, a tokenizer that copes with Japanese, BM25.

`Retriever` is the seam: anything with `search(query, k) -> list[Passage]` plugs into the
`search_docs` tool, so an embedding retriever can replace (or be fused with) `BM25Retriever`
without touching the agent. `traced_search` wraps any retriever in a RETRIEVER span whose documents
carry id, content, score and source. Ranking uses `bm25s` (maintained, numpy only) over our own
tokens: it accepts pre-tokenized text, which is what lets the CJK bigrams below in.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import bm25s

import tenbin

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f"
_TOKEN = re.compile(rf"[{_CJK}]+|[^\W_]+")
_CJK_RUN = re.compile(rf"[{_CJK}]")
_NOT_HIRAGANA = re.compile(r"[^\u3040-\u309f]+")
_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
STOPWORDS = frozenset(
    "a an and are as at be by can do does for from how i if in into is it its me my of on or our so "
    "than that the then there this to was we what when where which who why will with you your".split()
)


@dataclass(frozen=True)
class Passage:
    """A chunk of a page, as retrieved: `id` is stable (`path#n`), `source` is human-readable."""

    id: str
    content: str
    source: str
    title: str = ""
    heading: str = ""
    score: float = 0.0

    def as_document(self) -> dict[str, Any]:
        """The OpenInference document shape (id, content, score, metadata) for RETRIEVER spans."""
        return {"id": self.id, "content": self.content, "score": self.score,
                "metadata": {"source": self.source, "title": self.title, "heading": self.heading}}


class Retriever(Protocol):
    def search(self, query: str, k: int = 3) -> list[Passage]: ...


def tokenize(text: str) -> list[str]:
    """Lower-cased words minus stop words, plurals folded; CJK runs become character bigrams.

    Japanese has no spaces, so bigrams are the standard cheap substitute for a morphological
    analyser; hiragana, mostly particles and verb endings, is treated as a word boundary.
    """
    tokens: list[str] = []
    for match in _TOKEN.finditer(unicodedata.normalize("NFKC", text).lower()):
        word = match.group()
        if _CJK_RUN.match(word):
            tokens.extend(_bigrams(word))
        elif word not in STOPWORDS:
            tokens.append(_singular(word))
    return tokens


def _bigrams(run: str) -> list[str]:
    """Bigrams of each kanji/katakana stretch; hiragana (particles, endings) only separates them."""
    out: list[str] = []
    for word in _NOT_HIRAGANA.findall(run):
        out.extend([word] if len(word) == 1 else [word[i : i + 2] for i in range(len(word) - 1)])
    return out


def _singular(word: str) -> str:
    if len(word) > 3 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def chunk_markdown(text: str, path: str, *, max_chars: int = 500) -> list[Passage]:
    """Split a page by headings, then pack paragraphs into chunks of at most `max_chars`.

    Consecutive chunks of one section share a paragraph (overlap), so an answer that straddles a
    boundary is whole in at least one chunk. The first `# ` heading is the page title.
    """
    title, sections = _sections(text)
    passages: list[Passage] = []
    for heading, paragraphs in sections:
        for body in _pack(paragraphs, max_chars):
            source = f"{path} › {heading}" if heading and heading != title else path
            passages.append(Passage(f"{path}#{len(passages)}", body, source, title or path, heading))
    return passages


def _sections(text: str) -> tuple[str, list[tuple[str, list[str]]]]:
    title, heading = "", ""
    sections: list[tuple[str, list[str]]] = []
    paragraphs: list[str] = []
    block: list[str] = []
    for line in text.splitlines():
        found = _HEADING.match(line)
        if found or not line.strip():
            if block:
                paragraphs.append(" ".join(block))
                block = []
            if found:
                if paragraphs:
                    sections.append((heading, paragraphs))
                heading, paragraphs = found.group(2), []
                title = title or (heading if found.group(1) == "#" else "")
            continue
        block.append(line.strip())
    if block:
        paragraphs.append(" ".join(block))
    if paragraphs:
        sections.append((heading, paragraphs))
    return title, sections


def _pack(paragraphs: Sequence[str], max_chars: int) -> list[str]:
    pieces = [p for para in paragraphs for p in _split_long(para, max_chars)]
    chunks: list[list[str]] = [[]]
    for piece in pieces:
        current = chunks[-1]
        if current and len(" ".join([*current, piece])) > max_chars:
            overlap = [current[-1]] if len(current) > 1 and len(current[-1]) + len(piece) < max_chars else []
            chunks.append([*overlap, piece])
        else:
            current.append(piece)
    return ["\n".join(c) for c in chunks if c]


def _split_long(paragraph: str, max_chars: int) -> list[str]:
    """A paragraph over `max_chars` split at sentence ends (also 。 for Japanese)."""
    if len(paragraph) <= max_chars:
        return [paragraph]
    out: list[str] = [""]
    for sentence in re.split(r"(?<=[.!?。])\s*", paragraph):
        if out[-1] and len(out[-1]) + len(sentence) > max_chars:
            out.append("")
        out[-1] = f"{out[-1]} {sentence}".strip()
    return [o for o in out if o]


class BM25Retriever:
    """BM25 over chunks; title and heading are indexed with the body so they count as evidence."""

    def __init__(self, passages: Iterable[Passage]) -> None:
        self.passages = list(passages)
        if not self.passages:
            raise ValueError("BM25Retriever needs at least one passage; is the docs folder empty?")
        self._index = bm25s.BM25()
        corpus = [tokenize(f"{p.title} {p.heading} {p.content}") or ["\u2205"] for p in self.passages]
        self._index.index(corpus, show_progress=False)

    @classmethod
    def from_markdown(cls, root: Path | str, *, max_chars: int = 500) -> BM25Retriever:
        """Index every `*.md` under `root`; passage sources are paths relative to it."""
        base = Path(root)
        pages = sorted(base.rglob("*.md"))
        if not pages:
            raise ValueError(f"no markdown pages under {base}; point the retriever at a folder of *.md files")
        return cls(p for page in pages
                   for p in chunk_markdown(page.read_text("utf-8"), page.relative_to(base).as_posix(),
                                           max_chars=max_chars))

    def search(self, query: str, k: int = 3) -> list[Passage]:
        """The `k` best passages with a positive score, best first."""
        tokens = tokenize(query)
        if not tokens or k < 1:
            return []
        found = self._index.retrieve([tokens], k=min(k, len(self.passages)), show_progress=False)
        hits = zip(found.documents[0].tolist(), found.scores[0].tolist())
        return [_scored(self.passages[i], s) for i, s in hits if s > 0]


def _scored(passage: Passage, score: float) -> Passage:
    return Passage(passage.id, passage.content, passage.source, passage.title, passage.heading, round(score, 4))


def traced_search(retriever: Retriever, query: str, k: int = 3, *, name: str = "retrieve") -> list[Passage]:
    """`retriever.search` inside a RETRIEVER span listing each document's id, content, score, source."""
    with tenbin.span(name, kind="retriever", input=query) as span:
        passages = retriever.search(query, k)
        documents = [p.as_document() for p in passages]
        span.set_attributes({f"retrieval.documents.{i}.document.metadata": d["metadata"]
                             for i, d in enumerate(documents)})
        span.set_output(documents)
    return passages
