"""Simulated crowds for tests and benchmarks: workers of varied accuracy answering items.

Accuracies are drawn from a Beta distribution around 0.7 (realistic for paid crowds: most
workers are decent, a few are near chance), and a share of workers confuse specific pairs
of classes rather than erring uniformly. Seeded, so every run sees the same crowd.

Optionally (``hard_share``) some items are **hard**: each has a distractor class that pulls
every worker alike (each answer goes to it with probability ``distractor_pull``, otherwise
the worker answers as usual). Their errors are correlated across workers, so several
agreeing answers can be wrong together, which a model of independent workers (Dawid–Skene)
does not expect: its posteriors come out over-confident, as they do on real crowd answers.
"""

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Crowd:
    truth: np.ndarray  # (n_items,)
    confusions: np.ndarray  # (n_workers, K true, K answered)
    distractor: np.ndarray | None = None  # (n_items,): the class a hard item pulls to, or -1
    distractor_pull: float = 0.0

    @property
    def n_classes(self) -> int:
        return self.confusions.shape[1]

    def answer(self, items: np.ndarray, workers: np.ndarray, rng: np.random.Generator):
        """One answer per (item, worker) pair, drawn from the worker's confusion row."""
        rows = self.confusions[workers, self.truth[items]]  # (n, K)
        draws = rng.random(len(items))[:, None]
        answers = (rows.cumsum(axis=1) < draws).sum(axis=1).clip(max=self.n_classes - 1)
        if self.distractor is None:
            return answers
        pulled = (self.distractor[items] >= 0) & (rng.random(len(items)) < self.distractor_pull)
        return np.where(pulled, self.distractor[items], answers)


def make_crowd(
    *,
    n_items: int,
    n_workers: int,
    n_classes: int,
    seed: int = 0,
    mean_accuracy: float = 0.7,
    hard_share: float = 0.0,
    distractor_pull: float = 0.4,
    shared_confusion: float = 0.0,
    class_difficulty: float = 0.0,
) -> Crowd:
    """``shared_confusion`` (0–1) mixes one population-wide error pattern into every
    worker's (real crowds mistake the same classes for the same others), and
    ``class_difficulty`` is the spread of a per-class shift of every worker's accuracy (some
    classes are harder for everyone); both 0 leave the crowd as it always was."""
    rng = np.random.default_rng(seed)
    truth = rng.choice(n_classes, size=n_items, p=rng.dirichlet(np.full(n_classes, 5.0)))
    strength = 6.0
    accuracy = rng.beta(mean_accuracy * strength, (1 - mean_accuracy) * strength, n_workers)
    accuracy = np.clip(accuracy, 1.0 / n_classes, 0.99)
    errors = rng.dirichlet(np.full(n_classes - 1, 0.7), size=(n_workers, n_classes))
    confusions = np.zeros((n_workers, n_classes, n_classes))
    for true_class in range(n_classes):
        others = [k for k in range(n_classes) if k != true_class]
        confusions[:, true_class, true_class] = accuracy
        confusions[:, true_class, others] = (1 - accuracy)[:, None] * errors[:, true_class]
    if shared_confusion or class_difficulty:
        confusions = _population_pattern(
            confusions, accuracy, errors, np.random.default_rng([seed, 2]),
            shared=shared_confusion, difficulty=class_difficulty,
        )  # fmt: skip
    if not hard_share:
        return Crowd(truth, confusions)
    # Drawn from a generator of its own, so a crowd without hard items is unchanged.
    hard_rng = np.random.default_rng([seed, 1])
    hard = hard_rng.random(n_items) < hard_share
    shift = hard_rng.integers(1, n_classes, n_items)  # any class but the true one
    distractor = np.where(hard, (truth + shift) % n_classes, -1)
    return Crowd(truth, confusions, distractor, distractor_pull)


def _population_pattern(confusions, accuracy, errors, rng, *, shared, difficulty):
    """Confusion matrices with a share of one population error pattern and per-class
    accuracy shifts (drawn from a generator of their own)."""
    n_classes = confusions.shape[1]
    population = rng.dirichlet(np.full(n_classes - 1, 0.5), size=n_classes)
    errors = (1 - shared) * errors + shared * population[None]
    shift = rng.normal(0.0, difficulty, n_classes)
    for true_class in range(n_classes):
        others = [k for k in range(n_classes) if k != true_class]
        right = np.clip(accuracy + shift[true_class], 1.0 / n_classes, 0.99)
        confusions[:, true_class, true_class] = right
        confusions[:, true_class, others] = (1 - right)[:, None] * errors[:, true_class]
    return confusions


def fixed_overlap_answers(crowd: Crowd, *, per_item: int, seed: int = 1):
    """Every item answered by ``per_item`` distinct workers picked at random."""
    rng = np.random.default_rng(seed)
    n_items, n_workers = len(crowd.truth), crowd.confusions.shape[0]
    # Distinct workers per item: the first per_item of a random permutation, vectorised.
    keys = rng.random((n_items, n_workers))
    workers = np.argsort(keys, axis=1)[:, :per_item].ravel()
    items = np.repeat(np.arange(n_items), per_item)
    return items, workers, crowd.answer(items, workers, rng)


def lopsided_answers(crowd: Crowd, *, per_item: int, seed: int = 1, spread: float = 1.2):
    """Every item answered by ``per_item`` distinct workers, picked by activity: a worker's
    activity is log-normal (``spread`` its sigma), so a few workers give most answers and
    many give a handful, as on real crowds."""
    rng = np.random.default_rng(seed)
    n_items, n_workers = len(crowd.truth), crowd.confusions.shape[0]
    activity = rng.lognormal(0.0, spread, n_workers)
    # Weighted sampling without replacement: the largest of u ** (1 / weight).
    keys = rng.random((n_items, n_workers)) ** (1.0 / activity)
    workers = np.argsort(-keys, axis=1)[:, :per_item].ravel()
    items = np.repeat(np.arange(n_items), per_item)
    return items, workers, crowd.answer(items, workers, rng)


@dataclass(frozen=True)
class MultilabelCrowd:
    truth: np.ndarray  # (n_items, n_labels) bool
    sensitivity: np.ndarray  # (n_workers, n_labels): P(yes | present)
    specificity: np.ndarray  # (n_workers, n_labels): P(no | absent)

    def answer(self, items: np.ndarray, workers: np.ndarray, rng: np.random.Generator):
        """One 0/1 row per (item, worker) pair."""
        truth = self.truth[items]
        right = rng.random(truth.shape) < np.where(
            truth, self.sensitivity[workers], self.specificity[workers]
        )
        return np.where(right, truth, ~truth)


def make_multilabel_crowd(
    *, n_items: int, n_workers: int, n_labels: int, seed: int = 0, spammer_share: float = 0.2
) -> MultilabelCrowd:
    """Labels present 10–40 % of the time; workers' sensitivity and specificity per label
    drawn around 0.8 and 0.9 (missing a label is the common error), and a share of workers
    who tick at random on half the labels (careless on those, fine on the rest)."""
    rng = np.random.default_rng(seed)
    prevalence = rng.uniform(0.1, 0.4, n_labels)
    truth = rng.random((n_items, n_labels)) < prevalence
    sensitivity = rng.beta(8, 2, (n_workers, n_labels))
    specificity = rng.beta(9, 1, (n_workers, n_labels))
    careless = rng.random(n_workers) < spammer_share
    on_labels = rng.random((n_workers, n_labels)) < 0.5
    coin = careless[:, None] & on_labels
    tick = rng.uniform(0.3, 0.7, (n_workers, n_labels))  # how often they tick, whatever the truth
    sensitivity = np.where(coin, tick, sensitivity)
    specificity = np.where(coin, 1 - tick, specificity)
    return MultilabelCrowd(truth, sensitivity, specificity)
