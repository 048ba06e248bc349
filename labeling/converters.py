"""Object ids from the outside (addresses, request bodies): the database's integers only."""

from rest_framework import serializers

# Ids are 64-bit: a larger number names no object, and SQLite's driver fails on it (a 500)
# where PostgreSQL finds nothing.
MAX_OBJECT_ID = 2**63 - 1
ID_DIGITS = 18  # any number of at most 18 digits is below MAX_OBJECT_ID


class ObjectId:
    """A decimal id of at most 18 digits (``<id:job_id>``). Ids are 64-bit integers, so a
    longer number names no object; SQLite's driver fails on one (a 500) where PostgreSQL finds
    nothing, so such an address does not resolve and is answered 404 like any unknown one."""

    regex = f"[0-9]{{1,{ID_DIGITS}}}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


class ObjectIdField(serializers.IntegerField):
    """An id in a request body: a whole number up to ``MAX_OBJECT_ID`` (else 400 naming the
    field), so that a lookup finds the object or nothing."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("max_value", MAX_OBJECT_ID)
        super().__init__(**kwargs)
