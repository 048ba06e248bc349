"""Multi-label vote and NER span clustering: pure functions, no database."""

import numpy as np

from labeling.consolidation.multilabel import multilabel_vote
from labeling.consolidation.spans import (
    Span,
    boundary,
    cluster_spans,
    consolidate_spans,
    jaccard_matrix,
)


def test_multilabel_keeps_each_class_chosen_by_a_majority():
    chosen = np.array([[1, 1, 0], [1, 0, 0], [1, 1, 1]], dtype=bool)
    kept, share, confidence = multilabel_vote(chosen)
    assert kept.tolist() == [True, True, False]
    assert np.allclose(share, [1, 2 / 3, 1 / 3])
    assert np.allclose(confidence, [1, 2 / 3, 2 / 3])


def test_multilabel_half_is_not_a_majority():
    kept, _, confidence = multilabel_vote(np.array([[1, 0], [0, 0]], dtype=bool))
    assert kept.tolist() == [False, False]
    assert np.allclose(confidence, [0.5, 1.0])


def test_jaccard_of_ranges():
    matrix = jaccard_matrix(np.array([0, 2, 10]), np.array([4, 6, 12]))
    assert np.isclose(matrix[0, 1], 2 / 6)
    assert matrix[0, 2] == 0
    assert np.allclose(np.diag(matrix), 1)


def test_boundary_is_the_mode_else_the_median():
    assert boundary(np.array([3, 3, 5])) == 3
    assert boundary(np.array([1, 4, 9])) == 4
    assert boundary(np.array([1, 4, 9, 12])) == 4  # lower middle: a real boundary


def test_overlapping_spans_of_three_workers_become_one_entity():
    spans = [
        Span(0, 10, 0, worker=0),  # "New York City"-like, PER=0 LOC=1
        Span(0, 8, 1, worker=1),
        Span(0, 10, 1, worker=2),
        Span(20, 25, 0, worker=0),  # only one worker: dropped
    ]
    entities = consolidate_spans(spans, n_workers=3, n_labels=2)
    assert len(entities) == 1
    (entity,) = entities
    assert (entity.start, entity.end) == (0, 10)
    assert entity.label == 1  # LOC by two of three
    assert np.isclose(entity.confidence, 2 / 3)
    assert entity.support == 3


def test_a_worker_contributes_at_most_one_span_per_cluster():
    spans = [Span(0, 5, 0, 0), Span(0, 4, 0, 0), Span(0, 5, 0, 1)]
    clusters = cluster_spans(spans)
    assert sorted(len(c) for c in clusters) == [1, 2]


def test_without_overlap_the_weaker_of_two_overlapping_entities_goes():
    spans = [Span(0, 10, 0, 0), Span(0, 10, 0, 1), Span(5, 20, 1, 0), Span(6, 20, 1, 1)]
    assert len(consolidate_spans(spans, n_workers=2, n_labels=2, allow_overlap=True)) == 2
    kept = consolidate_spans(spans, n_workers=2, n_labels=2, allow_overlap=False)
    assert len(kept) == 1


def test_no_spans_no_entities():
    assert consolidate_spans([], n_workers=3, n_labels=2) == []


def test_many_spans_cluster_without_a_pairwise_matrix():
    # 9 workers x 2,000 entities: an all-pairs matrix would hold 324 million cells.
    spans = [Span(i * 10 + (w % 2), i * 10 + 6, i % 3, w) for w in range(9) for i in range(2000)]
    entities = consolidate_spans(spans, n_workers=9, n_labels=3)
    assert len(entities) == 2000
    assert all(e.support == 9 and e.confidence == 1.0 for e in entities)
    assert entities[1].start == 10  # the mode of 10 (5 workers) and 11 (4)
