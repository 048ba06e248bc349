"""Gold on a box job stays secret: a gold lease looks like any other, and a submit to a gold
item costs the same statements as one to an ordinary item (the known answer is compared in
both: with the answer itself for an ordinary item)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from labeling.models import GoldItem, Item
from labeling.quality.services.gold import gold_item_mark
from labeling.quality.services.reliability import job_quality_configure
from labeling.services.jobs import job_start
from tests.conftest import client_for, import_lines
from tests.labeling.quality.test_gold_secrecy import _shape
from tests.task_types.helpers import write_image

pytestmark = pytest.mark.django_db

SIZE = {"width": 320, "height": 200}
KNOWN = {
    "annotatedResult": {
        "boundingBoxes": [{"label": "car", "left": 10, "top": 10, "width": 60, "height": 40}],
        "inputImageProperties": SIZE,
    }
}


def test_a_box_gold_lease_and_submit_look_and_cost_like_ordinary_ones(
    make_job, manager, labeler, settings
):
    write_image(settings.MEDIA_ROOT, "photo.png", size=(320, 200))
    job = make_job(
        items=0, start=False, task_type="image-bounding-box", labels=["car"], workers_per_item=2
    )
    import_lines(job, manager, [{"source-ref": "photo.png", "n": i} for i in range(12)])
    job.refresh_from_db()
    job_start(job=job, by=manager)
    ids = list(Item.objects.filter(job=job).order_by("id").values_list("id", flat=True))
    for item_id in ids[2::4]:
        gold_item_mark(job=job, item_id=item_id, answer=KNOWN)
    job_quality_configure(job=job, gold_rate=1.0)
    gold_ids = set(GoldItem.objects.filter(job=job).values_list("item_id", flat=True))
    client = client_for(labeler)
    steps = []
    while True:
        connection.queries_log.clear()
        claimed = client.post(f"/api/v1/jobs/{job.pk}/tasks/next")
        if claimed.status_code == 204:
            break
        lease = claimed.json()
        with CaptureQueriesContext(connection) as submit_queries:
            submitted = client.post(
                f"/api/v1/assignments/{lease['assignment_id']}/submit",
                {"answer": KNOWN},
                format="json",
            )
        assert submitted.status_code == 201, submitted.content
        steps.append((lease, submitted.json(), len(submit_queries)))
    served = {lease["item"]["id"] for lease, _, _ in steps}
    assert served == set(ids) and gold_ids <= served
    gold = {count for lease, _, count in steps if lease["item"]["id"] in gold_ids}
    ordinary = {count for lease, _, count in steps if lease["item"]["id"] not in gold_ids}
    assert gold == ordinary and len(gold) == 1
    assert len({repr(_shape(lease)) for lease, _, _ in steps}) == 1
    assert len({repr(_shape(lease["item"])) for lease, _, _ in steps}) == 1
    assert len({repr(_shape(answer)) for _, answer, _ in steps}) == 1
    assert not any("gold" in str(step).lower() for step in steps)
