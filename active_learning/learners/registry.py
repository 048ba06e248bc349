"""Which learner trains which kind of model. Learner modules are imported when first used, so
that the web process, which sends tasks but never trains, does not load torch or sklearn."""

from importlib import import_module

from active_learning.learners.base import Learner

LEARNERS = {
    "text-tfidf": "active_learning.learners.text:TfidfLogistic",
    "image-cnn": "active_learning.learners.cnn:SmallCnn",
}


class LearnerUnavailable(Exception):
    """A learner this installation cannot run (for example an optional extra is missing)."""


def make_learner(kind: str) -> Learner:
    try:
        module_name, class_name = LEARNERS[kind].split(":")
    except KeyError:
        raise LearnerUnavailable(f"the learner {kind!r} is not available") from None
    try:
        module = import_module(module_name)
    except ImportError as exc:
        raise LearnerUnavailable(f"the learner {kind!r} needs {exc.name}") from None
    return getattr(module, class_name)()
