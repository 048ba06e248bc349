"""@mentions in comments notify the mentioned user (issue 14, round 2): an unread count in
their header, a list of mentions linking to the item, read when they say so (a POST)."""

import pytest
from django.test import Client

from labeling.models import Mention
from labeling.review import selectors
from labeling.review.services.comments import item_comment_add
from tests.labeling.review.test_review_flow import reviewed, workers  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db


def _page(user, url="/mentions", method="get"):
    client = Client()
    client.force_login(user)
    return getattr(client, method)(url)


def test_a_mention_reaches_the_mentioned_users_header_and_list_until_read(
    reviewed,  # noqa: F811
    workers,  # noqa: F811
    manager,
    make_labeler,
):
    job, item = reviewed
    outsider = make_labeler("outsider")
    outsider.memberships.all().delete()  # not on the job's team: not mentionable
    item_comment_add(
        job=job, item_id=item.pk, author=workers[1], body="@w1 @w2 @outsider @pm is it a cat?"
    )
    # The author's own @ is no notice; someone off the team is not mentioned at all.
    assert set(Mention.objects.values_list("user__username", flat=True)) == {"w1", "pm"}
    assert selectors.user_mentions_unread_count(user=workers[0]) == 1
    assert selectors.user_mentions_unread_count(user=workers[2]) == 0

    header = _page(workers[0], f"/work/jobs/{job.pk}/answers").content.decode()
    assert 'id="mentions-unread">1<' in header
    listed = _page(workers[0]).content.decode()
    assert "is it a cat?" in listed and f"/work/jobs/{job.pk}/answers" in listed
    assert 'data-unread="true"' in listed
    assert selectors.user_mentions_unread_count(user=workers[0]) == 1  # GET changes nothing
    # A manager's mention links to the item page.
    assert f"/console/jobs/{job.pk}/items/{item.pk}" in _page(manager).content.decode()

    done = _page(workers[0], "/mentions/read", "post")
    assert done.status_code == 302
    assert selectors.user_mentions_unread_count(user=workers[0]) == 0
    assert selectors.user_mentions_unread_count(user=manager) == 1  # only their own
    header = _page(workers[0], f"/work/jobs/{job.pk}/answers").content.decode()
    assert 'id="mentions-unread"' not in header
    assert 'data-unread="true"' not in _page(workers[0]).content.decode()
    assert _page(workers[2]).status_code == 200  # nobody mentioned them: an empty list
