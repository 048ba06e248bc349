"""Checks each parsed boto3 response against the operation's output shape in botocore's model:
required members, types (timestamps as aware datetimes), enum
values, lengths and ranges. Name patterns are not checked: Quorum's teams made in the console
may have names the model's pattern refuses (a space), and they are listed as they are."""

from datetime import datetime
from typing import Any


def check(shape: Any, value: Any, path: str, problems: list[str]) -> None:
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            problems.append(f"{path}: not a structure: {value!r}")
            return
        for name in shape.required_members:
            if name not in value or value[name] is None:
                problems.append(f"{path}.{name}: required member missing")
        for name, member_value in value.items():
            if name == "ResponseMetadata" and not path.count("."):
                continue
            member = shape.members.get(name)
            if member is None:
                problems.append(f"{path}.{name}: not in the model")
            else:
                check(member, member_value, f"{path}.{name}", problems)
    elif kind == "list":
        if not isinstance(value, list):
            problems.append(f"{path}: not a list")
            return
        for i, element in enumerate(value):
            check(shape.member, element, f"{path}[{i}]", problems)
    elif kind == "map":
        if not isinstance(value, dict):
            problems.append(f"{path}: not a map")
            return
        for k, v in value.items():
            check(shape.value, v, f"{path}.{k}", problems)
    elif kind == "string":
        if not isinstance(value, str):
            problems.append(f"{path}: not a string: {value!r}")
            return
        meta = shape.metadata
        if shape.enum and value not in shape.enum:
            problems.append(f"{path}: {value!r} not in enum {shape.enum}")
        if meta.get("min") is not None and len(value) < meta["min"]:
            problems.append(f"{path}: {value!r} shorter than {meta['min']}")
        if meta.get("max") is not None and len(value) > meta["max"]:
            problems.append(f"{path}: longer than {meta['max']}")
    elif kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            problems.append(f"{path}: not an integer: {value!r}")
        else:
            meta = shape.metadata
            if meta.get("min") is not None and value < meta["min"]:
                problems.append(f"{path}: {value} < {meta['min']}")
            if meta.get("max") is not None and value > meta["max"]:
                problems.append(f"{path}: {value} > {meta['max']}")
    elif kind in ("float", "double"):
        if not isinstance(value, int | float):
            problems.append(f"{path}: not a number")
    elif kind == "boolean":
        if not isinstance(value, bool):
            problems.append(f"{path}: not a boolean")
    elif kind == "timestamp" and (not isinstance(value, datetime) or value.tzinfo is None):
        problems.append(f"{path}: not an aware datetime: {value!r}")


def watch(client, problems: list[str]):
    """Append to ``problems`` what each successful response of ``client`` breaks."""

    def after_call(http_response, parsed, model, **kwargs):
        if http_response.status_code < 300 and model.output_shape is not None:
            check(model.output_shape, parsed, model.name, problems)

    client.meta.events.register("after-call", after_call)
    return client
