"""The job and quality pages' numbers open the items behind them: each link's data-manager page
lists as many items as the number it is on."""

import re

import pytest
from django.test import Client

from labeling.quality.services.reliability import job_quality_reestimate
from tests.labeling.console.helpers import answer_next

pytestmark = pytest.mark.django_db

# A link of the page whose text (or first span's) is a number: its href and that number.
NUMBER_LINK = re.compile(r'<a href="([^"]*/items(?:\?[^"]*)?)"[^>]*>(?:<span[^>]*>)?(\d+)<')


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def rows_listed(client: Client, href: str) -> int:
    page = client.get(href.replace("&amp;", "&")).content.decode()
    return page.count("<tr data-item-id=")


@pytest.mark.parametrize("page_path", ["", "quality"])
def test_every_number_links_to_as_many_items(page_path, manager, make_job, make_labeler):
    job = make_job(items=4, workers_per_item=1)
    ann, bob = make_labeler("ann"), make_labeler("bob")
    answer_next(job, ann, "cat")
    answer_next(job, ann, "dog")
    answer_next(job, bob, "cat")
    job_quality_reestimate(job_id=job.pk)  # the workers' rows of the quality page
    client = signed_in(manager)
    page = client.get(f"/console/jobs/{job.pk}/{page_path}").content.decode()
    links = NUMBER_LINK.findall(page)
    hrefs = {href.split("?", 1)[-1] for href, _ in links}
    if page_path == "":
        assert {"status=labeled", "status=open", "label=cat", "label=dog"} <= hrefs
    assert {"worker=ann", "worker=bob"} <= hrefs
    for href, number in links:
        assert rows_listed(client, href) == int(number), href
