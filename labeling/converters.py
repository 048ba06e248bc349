"""The path converter of object ids: addresses name objects by the database's integers."""


class ObjectId:
    """A decimal id of at most 18 digits (``<id:job_id>``). Ids are 64-bit integers, so a
    longer number names no object; SQLite's driver fails on one (a 500) where PostgreSQL finds
    nothing, so such an address does not resolve and is answered 404 like any unknown one."""

    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)
