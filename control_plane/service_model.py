"""The managed labeling service's control-plane model, read from botocore at run time.

botocore ships the model as ``botocore/data/sagemaker/<version>/service-2.json``: it is the
specification of every shape Quorum answers. Requests are checked against it here (required
members, types, lengths, ranges, patterns, enums) and a refusal names the field as
``Outer.Inner[0].Field``, in the words the managed service uses.
"""

import re
from datetime import UTC, datetime
from functools import cache
from typing import Any

from botocore.loaders import Loader
from botocore.model import OperationNotFoundError, ServiceModel, Shape

SERVICE = "sagemaker"
MAX_ERRORS_LISTED = 5


class RequestInvalid(Exception):
    """A request that does not fit the model; the message lists the first problems."""

    def __init__(self, problems: list[str]):
        count = len(problems)
        shown = "; ".join(problems[:MAX_ERRORS_LISTED])
        super().__init__(f"{count} validation error{'s' if count > 1 else ''} detected: {shown}")
        self.message = str(self)
        self.problems = problems


@cache
def service_model() -> ServiceModel:
    return ServiceModel(Loader().load_service_model(SERVICE, "service-2"), SERVICE)


def operation_exists(name: str) -> bool:
    try:
        service_model().operation_model(name)
    except OperationNotFoundError:
        return False
    return True


@cache
def _pattern(pattern: str) -> re.Pattern[str] | None:
    # The service checks the whole value (Java's matches()), so a pattern is a full match.
    try:
        return re.compile(pattern, re.DOTALL)
    except re.error:  # a Java-only construct: the other constraints still apply
        return None


def _value(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 100 else text[:100] + "…"


def _constraint(value: Any, path: str, constraint: str) -> str:
    return f"Value '{_value(value)}' at '{path}' failed to satisfy constraint: {constraint}"


def _check(shape: Shape, value: Any, path: str, problems: list[str]) -> None:
    kind = shape.type_name
    meta = shape.metadata
    if kind == "structure":
        if not isinstance(value, dict):
            problems.append(f"'{path}' must be an object")
            return
        for name in shape.required_members:
            if value.get(name) is None:
                problems.append(_constraint(None, _join(path, name), "Member must not be null"))
        for name, member_value in value.items():
            member = shape.members.get(name)
            if member is None:
                problems.append(f"'{_join(path, name)}' is not a member of {shape.name}")
            elif member_value is not None:
                _check(member, member_value, _join(path, name), problems)
        return
    if kind == "list":
        if not isinstance(value, list):
            problems.append(f"'{path}' must be a list")
            return
        _size(value, meta, path, problems, "length")
        for index, element in enumerate(value):
            _check(shape.member, element, f"{path}[{index}]", problems)
        return
    if kind == "map":
        if not isinstance(value, dict):
            problems.append(f"'{path}' must be an object")
            return
        _size(value, meta, path, problems, "length")
        for key, element in value.items():
            _check(shape.key, key, f"{path}.{key}(key)", problems)
            _check(shape.value, element, f"{path}.{key}", problems)
        return
    if kind == "string":
        if not isinstance(value, str):
            problems.append(f"'{path}' must be a string")
            return
        _size(value, meta, path, problems, "length")
        if shape.enum and value not in shape.enum:
            problems.append(
                _constraint(
                    value, path, f"Member must satisfy enum value set: [{', '.join(shape.enum)}]"
                )
            )
        pattern = meta.get("pattern")
        compiled = _pattern(pattern) if pattern else None
        if compiled is not None and compiled.fullmatch(value) is None:
            problems.append(
                _constraint(
                    value, path, f"Member must satisfy regular expression pattern: {pattern}"
                )
            )
        return
    if kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            problems.append(f"'{path}' must be a whole number")
            return
        _size(value, meta, path, problems, "value")
        return
    if kind in ("float", "double"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            problems.append(f"'{path}' must be a number")
            return
        _size(value, meta, path, problems, "value")
        return
    if kind == "boolean":
        if not isinstance(value, bool):
            problems.append(f"'{path}' must be true or false")
        return
    if kind == "timestamp":
        try:
            parse_timestamp(value)
        except ValueError:
            problems.append(f"'{path}' must be a timestamp (epoch seconds)")
        return
    if kind == "blob" and not isinstance(value, str):
        problems.append(f"'{path}' must be base64 text")


def _size(value: Any, meta: dict[str, Any], path: str, problems: list[str], what: str) -> None:
    measure = value if what == "value" else len(value)
    low, high = meta.get("min"), meta.get("max")
    if low is not None and measure < low:
        word = (
            "greater than or equal to"
            if what == "value"
            else "have length greater than or equal to"
        )
        problems.append(_constraint(value, path, f"Member must {word} {low}"))
    if high is not None and measure > high:
        word = "less than or equal to" if what == "value" else "have length less than or equal to"
        problems.append(_constraint(value, path, f"Member must {word} {high}"))


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def validate_request(operation: str, body: Any) -> None:
    """RequestInvalid unless ``body`` fits the operation's input shape."""
    shape = service_model().operation_model(operation).input_shape
    problems: list[str] = []
    if shape is None:
        return
    _check(shape, body, "", problems)
    if problems:
        raise RequestInvalid(problems)


def parse_timestamp(value: Any) -> datetime:
    """A request timestamp (epoch seconds, as botocore sends them, or ISO 8601) in UTC."""
    if isinstance(value, bool):
        raise ValueError("not a timestamp")
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        try:
            return datetime.fromtimestamp(float(value), UTC)
        except ValueError:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    raise ValueError("not a timestamp")


def epoch(moment: datetime | None) -> float | None:
    """A response timestamp: epoch seconds with milliseconds, as the service answers."""
    return None if moment is None else round(moment.timestamp(), 3)
