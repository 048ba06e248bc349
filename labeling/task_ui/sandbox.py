"""The sandbox that user-authored task templates render in.

Stricter than Jinja2's own sandbox: a template reads only the task data (dict keys, list
items, a loop's counters), calls nothing but the bounded ``range`` and loop guard the
translation inserts, loads no other template, and every render has a budget of loop
iterations, output characters, string size and wall-clock time. What Python cannot interrupt
(arithmetic on huge numbers, repeating a string or list, turning a value into text) is
bounded before it runs, so no single step can outlast the time budget; and a template shows
only data: no object of the engine (``self``, ``loop``, the guards) reaches its output.
"""

import html
import json
import operator
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import quote

from jinja2 import BaseLoader, Undefined
from jinja2.runtime import LoopContext
from jinja2.sandbox import SandboxedEnvironment, SecurityError
from jinja2.utils import missing
from markupsafe import Markup, escape

from labeling.task_ui.liquid import CAPTURE_CAP, LOOP_GUARD, RANGE

MAX_OUTPUT_CHARS = 2 * 1024 * 1024
MAX_STRING_CHARS = MAX_OUTPUT_CHARS
MAX_LOOP_ITERATIONS = 200_000
MAX_RANGE = 10_000
MAX_RENDER_SECONDS = 2.0
# About 1,233 decimal digits: far beyond any count a task page shows, and quick to compute
# and print (Python refuses to print an int of more than 4,300 digits at all).
MAX_NUMBER_BITS = 4096
_LOOP_ATTRIBUTES = frozenset(
    {"index", "index0", "first", "last", "length", "revindex", "revindex0", "rindex", "rindex0"}
)


class RenderLimitExceeded(SecurityError):
    """A render went past one of its budgets (loops, output size, time)."""


class NoLoader(BaseLoader):
    def get_source(self, environment, template):
        raise SecurityError(f"a task template cannot load another template ({template!r})")


class TaskUndefined(Undefined):
    """Missing keys render empty, as in Liquid; an unknown top-level name is an error."""

    __slots__ = ()

    def _fail_if_unknown_name(self) -> None:
        if self._undefined_name is not None and self._undefined_obj is missing:
            raise SecurityError(
                f"the template has no variable {self._undefined_name!r}: a task template "
                "sees only `task` and what it assigns"
            )

    def __str__(self) -> str:
        self._fail_if_unknown_name()
        return ""

    def __iter__(self) -> Iterator[Any]:
        self._fail_if_unknown_name()
        return iter(())

    def __eq__(self, other: object) -> bool:  # Liquid: a missing value is nil
        return other is None or isinstance(other, Undefined)

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    __hash__ = Undefined.__hash__


class RenderBudget:
    """Counts one render's loop iterations and time; shared by every loop of the render."""

    def __init__(self, *, seconds: float = MAX_RENDER_SECONDS):
        self.deadline = time.monotonic() + seconds
        self.seconds = seconds
        self.iterations = 0

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise RenderLimitExceeded(
                f"the template took longer than {self.seconds:g} s to render and was stopped"
            )

    def loop(
        self, iterable: Any, offset: Any = 0, limit: Any = None, reverse: bool = False
    ) -> Iterator[Any]:
        """The guarded iteration of ``{% for %}``, with Liquid's offset, limit and reversed."""
        if isinstance(iterable, TaskUndefined):
            iterable._fail_if_unknown_name()
        if isinstance(iterable, Undefined) or iterable is None:
            items: list[Any] = []
        elif isinstance(iterable, dict):
            items = [[key, value] for key, value in iterable.items()]
        elif isinstance(iterable, str):
            items = [iterable]
        elif isinstance(iterable, (list, tuple, range)):
            items = list(iterable)
        else:
            raise SecurityError(f"cannot loop over a {type(iterable).__name__}")
        if reverse:
            items.reverse()
        start = _as_int(offset, "offset")
        stop = None if limit is None else start + _as_int(limit, "limit")
        for item in items[start:stop]:
            self.iterations += 1
            if self.iterations > MAX_LOOP_ITERATIONS:
                raise RenderLimitExceeded(
                    f"the template's loops ran more than {MAX_LOOP_ITERATIONS} times and were "
                    "stopped"
                )
            if self.iterations % 256 == 0:
                self.check_time()
            yield item


def _as_int(value: Any, what: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise SecurityError(f"{what} must be a whole number, not {value!r}") from None


def bounded_range(low: Any, high: Any) -> range:
    """Liquid's ``(low..high)``: inclusive, and at most ``MAX_RANGE`` numbers."""
    start, stop = _as_int(low, "a range's start"), _as_int(high, "a range's end")
    if stop - start + 1 > MAX_RANGE:
        raise RenderLimitExceeded(f"the range ({start}..{stop}) has more than {MAX_RANGE} numbers")
    return range(start, stop + 1)


def _capped(value: Any) -> Any:
    if isinstance(value, str) and len(value) > MAX_STRING_CHARS:
        raise RenderLimitExceeded(
            f"the template built a string of more than {MAX_STRING_CHARS} characters"
        )
    return value


# --- Liquid's filters ------------------------------------------------------------------------


def _is_blank(value: Any) -> bool:
    return isinstance(value, Undefined) or value is None or value is False or value in ("", [], {})


def f_default(value: Any, fallback: Any = "", allow_false: bool = False) -> Any:
    if value is False and allow_false:
        return value
    return fallback if _is_blank(value) else value


def f_to_json(value: Any) -> str:
    if isinstance(value, Undefined):
        value = None
    return json.dumps(_checked_data(value), ensure_ascii=False, default=_refuse_non_data)


def f_escape_once(value: Any) -> Markup:
    return Markup(escape(html.unescape(str(_checked_data(value)))))


def f_skip_autoescape(value: Any) -> Markup:
    return Markup(_capped(str(_checked_data(value))))


def f_size(value: Any) -> int:
    if isinstance(value, Undefined) or value is None:
        return 0
    try:
        return len(value)
    except TypeError:
        return 0


def f_append(value: Any, other: Any) -> str:
    return _capped(_text(value) + _text(other))


def f_prepend(value: Any, other: Any) -> str:
    return _capped(_text(other) + _text(value))


def f_join(value: Any, separator: Any = " ") -> str:
    if not isinstance(value, (list, tuple)):
        return _text(value)
    return _capped(_text(separator).join(_text(v) for v in value))


def f_split(value: Any, separator: Any = " ") -> list[str]:
    return _text(value).split(_text(separator)) if _text(separator) else list(_text(value))


def f_replace(value: Any, old: Any, new: Any = "") -> str:
    text, old_text, new_text = _text(value), _text(old), _text(new)
    if old_text and len(new_text) > len(old_text):
        grown = len(text) + text.count(old_text) * (len(new_text) - len(old_text))
        if grown > MAX_STRING_CHARS:
            raise RenderLimitExceeded(
                f"the template built a string of more than {MAX_STRING_CHARS} characters"
            )
    return text.replace(old_text, new_text)


def _text(value: Any) -> str:
    if isinstance(value, Undefined) or value is None:
        return ""
    return str(_checked_data(value))


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, (list, tuple, str)) and value else None


def _last(value: Any) -> Any:
    return value[-1] if isinstance(value, (list, tuple, str)) and value else None


def _number(value: Any) -> float | int:
    if isinstance(value, (int, float)):
        return value
    try:
        text = _text(value)
        return float(text) if "." in text else int(text)
    except ValueError:
        return 0


FILTERS: dict[str, Callable[..., Any]] = {
    "default": f_default,
    "to_json": f_to_json,
    "escape": lambda v: escape(_checked_data(v)),
    "h": lambda v: escape(_checked_data(v)),
    "escape_once": f_escape_once,
    "skip_autoescape": f_skip_autoescape,
    "downcase": lambda v: _text(v).lower(),
    "upcase": lambda v: _text(v).upper(),
    "capitalize": lambda v: _text(v)[:1].upper() + _text(v)[1:],
    "size": f_size,
    "strip": lambda v: _text(v).strip(),
    "lstrip": lambda v: _text(v).lstrip(),
    "rstrip": lambda v: _text(v).rstrip(),
    "append": f_append,
    "prepend": f_prepend,
    "join": f_join,
    "split": f_split,
    "replace": f_replace,
    "remove": lambda v, old: f_replace(v, old, ""),
    "first": _first,
    "last": _last,
    "plus": lambda v, n: checked_binop("+", _number(v), _number(n)),
    "minus": lambda v, n: checked_binop("-", _number(v), _number(n)),
    "times": lambda v, n: checked_binop("*", _number(v), _number(n)),
    "url_encode": lambda v: quote(_text(v), safe=""),
    CAPTURE_CAP: _capped,
}

_SAFE_BINOPS: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "//": operator.floordiv,
    "%": operator.mod,
    "**": operator.pow,
}
_DATA_SCALARS = (str, int, float, bool, type(None), Undefined)


def _size_hint(value: Any) -> int:
    return len(value) if isinstance(value, (str, list, tuple)) else 0


def _bits(value: Any) -> int:
    return value.bit_length() if isinstance(value, int) else 0


def _too_big_number() -> RenderLimitExceeded:
    return RenderLimitExceeded(
        f"the template computed a number of more than {MAX_NUMBER_BITS} bits (about "
        f"{int(MAX_NUMBER_BITS * 0.30103)} digits)"
    )


def _too_big_value() -> RenderLimitExceeded:
    return RenderLimitExceeded(
        f"the template built a value of more than {MAX_STRING_CHARS} characters"
    )


def _printed_size_exceeds(value: Any, limit: int) -> bool:
    """Whether ``value`` printed would pass ``limit`` characters, found in at most about
    ``limit / 2`` steps: a list repeated inside a list counts every time it appears."""
    total = 0
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            total += len(item) + 2
        elif isinstance(item, (list, tuple)):
            total += 2 * len(item) + 2
            if total <= limit:
                pending.extend(item)
        elif isinstance(item, dict):
            total += 4 * len(item) + 2
            if total <= limit:
                pending.extend(item.keys())
                pending.extend(item.values())
        else:
            total += 2 + _bits(item) // 3
        if total > limit:
            return True
    return False


def _checked_data(value: Any) -> Any:
    """``value`` if it is data small enough to print, else a ``SecurityError``.

    Engine objects (``self``, ``loop``, the guards, a bound method) are refused without
    their repr, which would name Python classes, modules and memory addresses."""
    if isinstance(value, (list, tuple, dict)):
        if _printed_size_exceeds(value, MAX_STRING_CHARS):
            raise _too_big_value()
        return value
    if isinstance(value, int) and _bits(value) > MAX_NUMBER_BITS:
        raise _too_big_number()
    if isinstance(value, _DATA_SCALARS):
        return value
    _refuse_non_data(value)
    return None  # pragma: no cover - _refuse_non_data raises


def _refuse_non_data(value: Any) -> Any:
    raise SecurityError(
        "a task template can show only text, numbers, true/false and the task's data"
    )


def _check_operands(operator: str, left: Any, right: Any) -> None:
    """Refuse, before computing, what would take long or build something huge."""
    if operator == "%" and isinstance(left, str):
        raise SecurityError("the % operator does not format text in a task template")
    if operator == "*":
        if _size_hint(left) or _size_hint(right):
            count = right if _size_hint(left) else left
            size = max(_size_hint(left), _size_hint(right))
            if isinstance(count, int) and count * size > MAX_STRING_CHARS:
                raise _too_big_value()
        elif _bits(left) + _bits(right) > MAX_NUMBER_BITS + 1:
            raise _too_big_number()
    if operator == "**" and isinstance(right, int) and right > 0:
        if isinstance(left, int) and abs(left) > 1 and (_bits(left) - 1) * right >= MAX_NUMBER_BITS:
            raise _too_big_number()
        if isinstance(left, (list, tuple, str)):
            raise SecurityError("the ** operator works on numbers only")


def checked_binop(operator: str, left: Any, right: Any) -> Any:
    """``left <operator> right`` with the operands bounded first and the result checked."""
    _check_operands(operator, left, right)
    result = _SAFE_BINOPS[operator](left, right)
    if isinstance(result, str) and len(result) > MAX_STRING_CHARS:
        raise _too_big_value()
    if isinstance(result, (list, tuple)) and _printed_size_exceeds(result, MAX_STRING_CHARS):
        raise _too_big_value()
    if isinstance(result, int) and _bits(result) > MAX_NUMBER_BITS:
        raise _too_big_number()
    return result


def _liquid_text(value: Any) -> Any:
    """What Liquid prints for a value, as the managed service does: lists and objects as
    JSON (so ``initial-value="{{ task.input.blocks }}"`` hands an element its data), true
    and false in lower case, nil as nothing; never a Python repr."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    return value


def _keep_carriage_returns(value: Any) -> Any:
    """Write CR as ``&#13;``: HTML parsing turns CR LF into LF, which would shift every
    character offset after it (an entity annotation's offsets among them). Values print
    as Liquid prints them (``_liquid_text``)."""
    value = _liquid_text(_checked_data(value))
    if isinstance(value, str) and "\r" in value and not isinstance(value, Markup):
        return Markup(str(escape(value)).replace("\r", "&#13;"))
    return value


class TaskSandbox(SandboxedEnvironment):
    """Jinja2's sandbox narrowed to task data; see the module's docstring."""

    intercepted_binops = frozenset(_SAFE_BINOPS)

    def __init__(self) -> None:
        super().__init__(
            loader=NoLoader(),
            autoescape=True,
            finalize=_keep_carriage_returns,
            undefined=TaskUndefined,
            extensions=["jinja2.ext.loopcontrols"],
            keep_trailing_newline=True,
        )
        self.globals.clear()
        self.filters.clear()
        self.filters.update(FILTERS)
        self.tests = {k: v for k, v in self.tests.items() if k in ("defined", "none", "number")}

    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(attribute, str) and attribute.startswith("_"):
            raise SecurityError(
                f"a task template may not read {attribute!r}: names starting with _ are private"
            )
        if isinstance(obj, dict):
            if attribute in obj:
                return obj[attribute]
            return self.undefined(obj=obj, name=attribute)
        if isinstance(obj, (list, tuple, str)) and attribute in ("size", "first", "last"):
            return {"size": f_size, "first": _first, "last": _last}[attribute](obj)
        if isinstance(obj, LoopContext) and attribute in _LOOP_ATTRIBUTES:
            return getattr(obj, attribute.replace("rindex", "revindex"))
        if isinstance(obj, TaskUndefined):
            obj._fail_if_unknown_name()
            return self.undefined(obj=obj, name=attribute)
        raise SecurityError(
            f"a task template may read only the task's data, not {attribute!r} of a "
            f"{type(obj).__name__}"
        )

    def getitem(self, obj: Any, argument: Any) -> Any:
        if isinstance(argument, str) and argument.startswith("_"):
            return self.getattr(obj, argument)
        if isinstance(obj, dict):
            if argument in obj:
                return obj[argument]
            return self.undefined(obj=obj, name=argument)
        if isinstance(obj, (list, tuple, str)) and isinstance(argument, int):
            try:
                return obj[argument]
            except IndexError:
                return self.undefined(obj=obj, name=argument)
        if isinstance(argument, str):
            return self.getattr(obj, argument)
        if isinstance(obj, TaskUndefined):
            obj._fail_if_unknown_name()
            return self.undefined(obj=obj, name=argument)
        raise SecurityError(f"a task template cannot index a {type(obj).__name__}")

    def call(self, __context, __obj, *args, **kwargs):  # noqa: N807 - Jinja's signature
        is_loop_guard = isinstance(getattr(__obj, "__self__", None), RenderBudget)
        if __obj is bounded_range or is_loop_guard:
            # Jinja passes its own bookkeeping to calls inside loops and blocks.
            kwargs.pop("_loop_vars", None)
            kwargs.pop("_block_vars", None)
            return __obj(*args, **kwargs)
        raise SecurityError("a task template cannot call functions or methods")

    def call_binop(self, context, operator: str, left: Any, right: Any) -> Any:
        return checked_binop(operator, left, right)


def render_globals(budget: RenderBudget) -> dict[str, Any]:
    """The names a translated template needs besides ``task``."""
    return {LOOP_GUARD: budget.loop, RANGE: bounded_range}


def iterate_limited(chunks: Iterable[str], budget: RenderBudget) -> str:
    """Join rendered chunks, stopping past ``MAX_OUTPUT_CHARS`` or the time budget."""
    parts: list[str] = []
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > MAX_OUTPUT_CHARS:
            raise RenderLimitExceeded(
                f"the template produced more than {MAX_OUTPUT_CHARS} characters and was stopped"
            )
        parts.append(chunk)
        budget.check_time()
    return "".join(parts)
