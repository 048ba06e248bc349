"""What every operation shares: the call, its errors, paging and time filters."""

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest

from control_plane.selectors import keyset_page
from control_plane.service_model import parse_timestamp
from labeling.models import User
from workflows.models import AccessKey

DEFAULT_PAGE_SIZE = 10  # the service's default MaxResults


class OperationError(Exception):
    """A refusal with the service's error code (``ResourceNotFound``, ``ValidationException`` …)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Call:
    request: HttpRequest
    access_key_id: str
    body: dict[str, Any]

    @cached_property
    def user(self) -> User:
        """The key's owner, read only by the operations that write in their name."""
        return AccessKey.objects.select_related("user").get(access_key_id=self.access_key_id).user

    def get(self, name: str, default: Any = None) -> Any:
        return self.body.get(name, default)


def not_found(message: str) -> OperationError:
    return OperationError("ResourceNotFound", message)


def invalid(message: str) -> OperationError:
    return OperationError("ValidationException", message)


def created_between(rows: QuerySet, call: Call, field: str = "created_at") -> QuerySet:
    """The request's CreationTimeAfter/Before (and LastModifiedTime…) filters on ``rows``."""
    for name, lookup in (
        ("CreationTimeAfter", f"{field}__gt"),
        ("CreationTimeBefore", f"{field}__lt"),
    ):
        if call.get(name) is not None:
            rows = rows.filter(**{lookup: parse_timestamp(call.get(name))})
    return rows


def page(
    rows: QuerySet, call: Call, *, field: str, listing: str, default_ascending: bool = False
) -> tuple[list[Any], dict[str, Any]]:
    """A keyset page of ``rows`` for the call's MaxResults, SortOrder and NextToken."""
    order = call.get("SortOrder")
    ascending = default_ascending if order is None else order == "Ascending"
    rows, token = keyset_page(
        rows,
        field=field,
        ascending=ascending,
        token=call.get("NextToken"),
        limit=call.get("MaxResults") or DEFAULT_PAGE_SIZE,
        listing=listing,
    )
    return rows, ({"NextToken": token} if token else {})
