"""Translate the Liquid of managed-service task templates into sandboxed Jinja2.

The translation keeps every newline where it was, so a line in the Jinja source is the same
line in the author's template; each tag's original column is kept too, so errors point at
the author's text. Only the tags below are accepted: anything else (``include``, ``import``,
``macro``, ``extends`` …) is refused with its position.
"""

import re
from dataclasses import dataclass, field

# Names the translation itself introduces; a template may not define them.
LOOP_GUARD = "quorum_loop"
RANGE = "quorum_range"
CAPTURE_CAP = "quorum_capped"

_TAG = re.compile(r"{%-?\s*raw\s*-?%}.*?{%-?\s*endraw\s*-?%}|{{.*?}}|{%.*?%}|{#.*?#}", re.DOTALL)
_STRING = re.compile(r"\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'")
_RANGE = re.compile(r"\(\s*([^()]+?)\s*\.\.\s*([^()]+?)\s*\)")
_FOR = re.compile(r"^(\w+)\s+in\s+(.+?)((?:\s+(?:limit|offset)\s*:\s*[\w.\"']+|\s+reversed)*)$")
_FOR_OPTION = re.compile(r"(limit|offset)\s*:\s*([\w.\"']+)|(reversed)")
_NAME = re.compile(r"^[A-Za-z_]\w*$")


class LiquidSyntaxError(Exception):
    """A template that cannot be translated; ``line`` and ``column`` are 1-based."""

    def __init__(self, message: str, line: int, column: int):
        super().__init__(f"line {line}, column {column}: {message}")
        self.message = message
        self.line = line
        self.column = column


@dataclass
class _Block:
    kind: str  # if, unless, for, capture, case
    line: int
    column: int
    whens: int = 0
    subject: str = ""


@dataclass
class Translation:
    """The Jinja2 source, the (line, column) of each tag start, and the translated output
    tags with their positions (to find which of several tags on a line failed)."""

    source: str
    tag_positions: list[tuple[int, int]] = field(default_factory=list)
    output_tags: list[tuple[int, int, str]] = field(default_factory=list)

    def output_tags_on(self, line: int) -> list[tuple[int, str]]:
        return [(column, text) for tag_line, column, text in self.output_tags if tag_line == line]

    def first_tag_column(self, line: int) -> int:
        columns = [column for tag_line, column in self.tag_positions if tag_line == line]
        return columns[0] if columns else 1


def _mask_strings(text: str) -> str:
    """``text`` with the inside of every string literal blanked, for safe scanning."""
    return _STRING.sub(lambda m: m.group(0)[0] + " " * (len(m.group(0)) - 2) + m.group(0)[0], text)


def _split_outside_strings(text: str, separator: str) -> list[str]:
    masked = _mask_strings(text)
    parts, start = [], 0
    for index, char in enumerate(masked):
        if char == separator:
            parts.append(text[start:index])
            start = index + 1
    parts.append(text[start:])
    return parts


def _operand(text: str) -> str:
    """One Liquid value: ranges become bounded ranges, ``nil`` becomes ``none``."""
    masked = _mask_strings(text)
    out, last = [], 0
    for match in _RANGE.finditer(masked):
        out.append(text[last : match.start()])
        low, high = text[match.start(1) : match.end(1)], text[match.start(2) : match.end(2)]
        out.append(f"{RANGE}({_operand(low)}, {_operand(high)})")
        last = match.end()
    out.append(text[last:])
    text = "".join(out)
    masked = _mask_strings(text)
    pieces, last = [], 0
    for match in re.finditer(r"\bnil\b|\bforloop\.|\bempty\b|\bblank\b", masked):
        pieces.append(text[last : match.start()])
        word = match.group(0)
        pieces.append(
            {"nil": "none", "forloop.": "loop.", "empty": "''", "blank": "''"}.get(word, word)
        )
        last = match.end()
    pieces.append(text[last:])
    return "".join(pieces)


def _condition(text: str) -> str:
    """A Liquid condition: ``a contains b`` becomes ``(b in a)``; the rest reads the same."""
    masked = _mask_strings(text)
    match = re.search(r"\s+contains\s+", masked)
    if match:
        left, right = text[: match.start()], text[match.end() :]
        # ``contains`` binds tighter than and/or in practice: split on those first.
        for joiner in (" and ", " or "):
            if joiner in _mask_strings(left) or joiner in _mask_strings(right):
                parts = re.split(r"(\s+and\s+|\s+or\s+)", text)
                return "".join(
                    _condition(p) if p.strip() not in ("and", "or") else p for p in parts
                )
        return f"({_expression(right)} in {_expression(left)})"
    return _expression(text)


def _expression(text: str) -> str:
    """A Liquid output expression with filters: ``x | f: a, b | g`` → ``x | f(a, b) | g``."""
    if "~" in _mask_strings(text):
        raise ValueError("the ~ operator is not allowed; use the append filter")
    head, *filters = _split_outside_strings(text, "|")
    out = [_operand(head.strip())]
    for spec in filters:
        spec = spec.strip()
        name, colon, args = spec.partition(":")
        name = name.strip()
        if not _NAME.match(name):
            raise ValueError(f"{spec!r} is not a filter")
        if colon:
            arguments = ", ".join(_operand(a.strip()) for a in _split_outside_strings(args, ","))
            out.append(f"{name}({arguments})")
        else:
            out.append(name)
    return " | ".join(out)


def _for(body: str) -> str:
    match = _FOR.match(body)
    if not match:
        raise ValueError("write {% for item in list %}")
    name, iterable, options = match.groups()
    limit, offset, reversed_ = "none", "0", "false"
    for option in _FOR_OPTION.finditer(options or ""):
        if option.group(1) == "limit":
            limit = _operand(option.group(2))
        elif option.group(1) == "offset":
            offset = _operand(option.group(2))
        else:
            reversed_ = "true"
    return (
        f"for {name} in {LOOP_GUARD}({_expression(iterable.strip())}, {offset}, {limit}, "
        f"{reversed_})"
    )


_SIMPLE = {"else": "else", "break": "break", "continue": "continue"}
_ENDS = {
    "endif": ("if", "endif"),
    "endunless": ("unless", "endif"),
    "endfor": ("for", "endfor"),
    "endcapture": ("capture", "endset"),
    "endcase": ("case", "endif"),
}


def translate(source: str) -> Translation:
    """The Jinja2 source for the Liquid ``source``; raises ``LiquidSyntaxError``."""
    out: list[str] = []
    positions: list[tuple[int, int]] = []
    output_tags: list[tuple[int, int, str]] = []
    stack: list[_Block] = []
    last = 0
    line_starts = [0] + [m.end() for m in re.finditer("\n", source)]

    def position(offset: int) -> tuple[int, int]:
        low, high = 0, len(line_starts) - 1
        while low < high:
            mid = (low + high + 1) // 2
            if line_starts[mid] <= offset:
                low = mid
            else:
                high = mid - 1
        return low + 1, offset - line_starts[low] + 1

    skipping_comment: _Block | None = None
    for match in _TAG.finditer(source):
        text = match.group(0)
        line, column = position(match.start())
        newlines = "\n" * text.count("\n")
        if skipping_comment is None:
            out.append(source[last : match.start()])
        else:
            out.append("\n" * source[last : match.start()].count("\n"))
        last = match.end()
        if text.startswith("{#"):
            out.append(newlines)
            continue
        if skipping_comment is not None:
            if re.fullmatch(r"{%-?\s*endcomment\s*-?%}", text):
                skipping_comment = None
            out.append(newlines)
            continue
        if re.match(r"{%-?\s*raw\s*-?%}", text):
            out.append(text)
            continue
        positions.append((line, column))
        try:
            if text.startswith("{{"):
                left, right = (
                    ("{{-" if text.startswith("{{-") else "{{"),
                    ("-}}" if text.endswith("-}}") else "}}"),
                )
                inner = text[len(left) : -len(right)]
                jinja_tag = f"{{{{ {_expression(inner.strip())} }}}}"
                output_tags.append((line, column, jinja_tag))
                out.append(f"{left} {jinja_tag[3:-3]} {right}{newlines}")
                continue
            left = "{%-" if text.startswith("{%-") else "{%"
            right = "-%}" if text.endswith("-%}") else "%}"
            inner = text[len(left) : -len(right)].strip()
            word, _, rest = inner.partition(" ")
            word = word.strip()
            rest = rest.strip()
            jinja = _tag(word, rest, stack, line, column)
        except ValueError as exc:
            raise LiquidSyntaxError(str(exc), line, column) from None
        if jinja is None:  # {% comment %}
            skipping_comment = stack.pop()
            out.append(newlines)
            continue
        out.append(f"{left} {jinja} {right}{newlines}")
    if skipping_comment is not None:
        raise LiquidSyntaxError(
            "{% comment %} is never closed by {% endcomment %}",
            skipping_comment.line,
            skipping_comment.column,
        )
    out.append(source[last:])
    if stack:
        block = stack[-1]
        raise LiquidSyntaxError(
            f"{{% {block.kind} %}} is never closed by {{% end{block.kind} %}}",
            block.line,
            block.column,
        )
    return Translation("".join(out), positions, output_tags)


def _tag(word: str, rest: str, stack: list[_Block], line: int, column: int) -> str | None:
    if word in ("if", "unless"):
        stack.append(_Block(word, line, column))
        condition = _condition(rest)
        return f"if {condition}" if word == "if" else f"if not ({condition})"
    if word in ("elsif", "elif"):
        if not stack or stack[-1].kind != "if":
            raise ValueError(f"{{% {word} %}} outside an {{% if %}}")
        return f"elif {_condition(rest)}"
    if word in _SIMPLE:
        if word == "else" and not stack:
            raise ValueError("{% else %} outside an {% if %}, {% for %} or {% case %}")
        if word in ("break", "continue") and not any(b.kind == "for" for b in stack):
            raise ValueError(f"{{% {word} %}} outside a {{% for %}}")
        if word == "else" and stack[-1].kind == "case" and stack[-1].whens == 0:
            stack[-1].whens = 1
            return "if true"
        return _SIMPLE[word]
    if word == "for":
        stack.append(_Block("for", line, column))
        return _for(rest)
    if word in ("assign", "set"):
        name, equals, value = rest.partition("=")
        name = name.strip()
        if not equals or not _NAME.match(name):
            raise ValueError("write {% assign name = value %}")
        _check_name(name)
        return f"set {name} = {_expression(value.strip())}"
    if word == "capture":
        name = rest.strip().strip("'\"")
        if not _NAME.match(name):
            raise ValueError("write {% capture name %}…{% endcapture %}")
        _check_name(name)
        stack.append(_Block("capture", line, column))
        return f"set {name} | {CAPTURE_CAP}"
    if word == "case":
        stack.append(_Block("case", line, column))
        stack[-1].subject = _expression(rest)
        return "if false"
    if word == "when":
        if not stack or stack[-1].kind != "case":
            raise ValueError("{% when %} outside a {% case %}")
        block = stack[-1]
        spans, start = [], 0
        masked = _mask_strings(rest)
        for piece in re.split(r"(,|\bor\b)", masked):
            if piece in (",", "or"):
                start += len(piece)
                continue
            spans.append(rest[start : start + len(piece)].strip())
            start += len(piece)
        tests = " or ".join(f"{block.subject} == {_operand(v)}" for v in spans if v)
        if not tests:
            raise ValueError("{% when %} needs a value")
        block.whens += 1
        return f"elif {tests}"
    if word == "comment":
        stack.append(_Block("comment", line, column))
        return None
    if word in _ENDS:
        opens, jinja = _ENDS[word]
        if not stack or stack[-1].kind != opens:
            expected = f"{{% end{stack[-1].kind} %}}" if stack else "nothing"
            raise ValueError(
                f"{{% {word} %}} does not close anything open here (expected {expected})"
            )
        stack.pop()
        return jinja
    raise ValueError(f"the tag {{% {word} %}} is not allowed in a task template")


def _check_name(name: str) -> None:
    if name in (LOOP_GUARD, RANGE, CAPTURE_CAP, "task", "loop"):
        raise ValueError(f"{name!r} is a reserved name")
