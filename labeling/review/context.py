"""The header's count of unread @mentions, for every signed-in page (a lazy, indexed count)."""

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from labeling.review import selectors


def mentions_unread(request: HttpRequest) -> dict[str, object]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "mentions_unread": SimpleLazyObject(lambda: selectors.user_mentions_unread_count(user=user))
    }
