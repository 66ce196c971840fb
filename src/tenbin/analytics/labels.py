"""Short cluster names from the words that set a cluster's texts apart (class-based TF-IDF).

Each cluster's central texts are one "document"; a word scores its frequency in the cluster times
log(1 + average words per cluster / the word's frequency over all clusters), as in BERTopic's
c-TF-IDF, so words every cluster uses ("please", "how") sink and the topic's own words rise. Only
the texts nearest each centre are read (`clustering.central_members`), which bounds the cost
whatever the run's size. Noise gets no label.
"""

from __future__ import annotations

import numpy as np

WORDS = 3


def label_clusters(texts: dict[int, list[str]], words: int = WORDS) -> dict[int, str]:
    """A "word · word · word" label per cluster id in `texts` (noise, -1, excluded)."""
    from sklearn.feature_extraction.text import CountVectorizer

    ids = [c for c in sorted(texts) if c != -1 and texts[c]]
    if not ids:
        return {}
    vectorizer = CountVectorizer(stop_words="english", token_pattern=r"(?u)\b[^\W\d_]{3,}\b", lowercase=True)
    try:
        counts = vectorizer.fit_transform([" ".join(texts[c]) for c in ids]).toarray().astype(np.float64)
    except ValueError:
        return {}
    vocabulary = vectorizer.get_feature_names_out()
    tf = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1.0)
    idf = np.log1p(counts.sum(axis=1).mean() / np.maximum(counts.sum(axis=0), 1.0))
    scores = tf * idf
    out = {}
    for row, c in enumerate(ids):
        best = [i for i in np.argsort(-scores[row], kind="stable")[:words] if scores[row, i] > 0]
        if best:
            out[c] = " · ".join(str(vocabulary[i]) for i in best)
    return out
