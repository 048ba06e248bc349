"""Text task types and custom templates, CPU only: span clustering, multi-label vote, and
rendering a managed-service-style template in the sandbox.

No server, no database: each figure is the median of several timed rounds of the pure
functions that run inside a submit (consolidation) or a task-UI request (rendering).
Prints one JSON object; appends a row to RESULTS.md unless --no-record.
"""

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "1")

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
from _harness import command_line, git_commit, record  # noqa: E402
from _probes import machine  # noqa: E402

from labeling.consolidation.multilabel import multilabel_vote  # noqa: E402
from labeling.consolidation.spans import Span, consolidate_spans  # noqa: E402
from labeling.task_ui.custom import compile_template, render_custom, sample_task  # noqa: E402

ROUNDS = 5
TEMPLATE = """<script src="https://assets.crowd.aws/crowd-html-elements.js"></script>
{% assign n = task.input.labels | size %}
<crowd-form>
  <crowd-entity-annotation name="entities" text="{{ task.input.source }}"
      labels='{{ task.input.labels | to_json }}' header="Mark {{ n }} kinds">
    <short-instructions>{% for l in task.input.labels %}{{ forloop.index }}. {{ l | upcase }}
    {% endfor %}</short-instructions>
  </crowd-entity-annotation>
  <crowd-image-classifier name="c" src="{{ task.input.taskObject | grant_read_access }}"
      categories="['a', 'b']"></crowd-image-classifier>
</crowd-form>
"""


def ner_answers(rng: random.Random, workers: int, entities: int) -> list[Span]:
    spans = []
    for worker in range(workers):
        for index in range(entities):
            start = index * 40 + rng.choice([0, 0, 0, 1, -1])
            spans.append(Span(max(0, start), start + 8 + rng.choice([0, 0, 2]), index % 4, worker))
    return spans


def timed(call, repeat: int) -> float:
    rounds = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        for _ in range(repeat):
            call()
        rounds.append((time.perf_counter() - started) / repeat)
    return statistics.median(rounds)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-record", action="store_true", help="print only")
    args = parser.parse_args(argv)
    rng = random.Random(7)
    small = ner_answers(rng, workers=3, entities=10)
    large = ner_answers(rng, workers=5, entities=200)
    votes = np.random.default_rng(7).random((5, 50)) > 0.5
    text = ("Ada Lovelace 𝒳 met Charles Babbage in London. " * 2200)[:100_000]
    task = sample_task({"source": text, "labels": ["PER", "LOC", "ORG", "MISC"]})
    compile_template(TEMPLATE)
    html = render_custom(TEMPLATE, task)
    figures = {
        "machine": machine(),
        "code": git_commit(),
        "ner_consolidate_3x10_ms": round(
            1000 * timed(lambda: consolidate_spans(small, n_workers=3, n_labels=4), 200), 3
        ),
        "ner_consolidate_5x200_ms": round(
            1000 * timed(lambda: consolidate_spans(large, n_workers=5, n_labels=4), 5), 3
        ),
        "multilabel_vote_5x50_us": round(1e6 * timed(lambda: multilabel_vote(votes), 2000), 2),
        "template_render_100k_text_ms": round(
            1000 * timed(lambda: render_custom(TEMPLATE, task), 20), 3
        ),
        "template_compile_cold_ms": round(
            1000 * timed(lambda: compile_template.__wrapped__(TEMPLATE), 20), 3
        ),
        "rendered_chars": len(html),
    }
    summary = (
        f"NER consolidation 3×10 spans {figures['ner_consolidate_3x10_ms']} ms, "
        f"5×200 {figures['ner_consolidate_5x200_ms']} ms; template render on a 100k text "
        f"{figures['template_render_100k_text_ms']} ms (compile "
        f"{figures['template_compile_cold_ms']} ms)"
    )
    record(command_line(), summary, figures, write=not args.no_record)


if __name__ == "__main__":
    main(sys.argv[1:])
