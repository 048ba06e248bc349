"""A review loop's item is in the data manager's search from its start: its search text is
written with it (on PostgreSQL inside the start's one statement), a batch's too."""

import json

import pytest

from labeling.models import ItemText
from workflows.services.loops import LoopSpec, human_loop_start, human_loops_create

pytestmark = pytest.mark.django_db


def test_a_started_loop_has_its_items_search_text(make_flow):
    flow = make_flow()
    loop = human_loop_start(flow=flow, name="search-1", input_content='{"source": "a zebra"}')
    text = ItemText.objects.get(item_id=loop.item_id).text
    assert "a zebra" in text
    assert text == loop.item.data


def test_a_batch_of_loops_has_every_items_search_text(make_flow):
    flow = make_flow()
    specs = [
        LoopSpec(
            name=f"batch-{n}",
            input_content=json.dumps({"source": f"batch text {n}"}),
            content={"source": f"batch text {n}"},
        )
        for n in range(3)
    ]
    loops = human_loops_create(flow=flow, specs=specs)
    texts = dict(
        ItemText.objects.filter(item_id__in=[loop.item_id for loop in loops]).values_list(
            "item_id", "text"
        )
    )
    assert [f"batch text {n}" in texts[loop.item_id] for n, loop in enumerate(loops)] == [True] * 3
