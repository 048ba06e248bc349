"""Custom task templates: the Liquid they are written in, and the sandbox they render in."""

import time

import pytest

from labeling.task_ui import sandbox as sandbox_module
from labeling.task_ui.custom import TemplateProblem, render_custom, sample_task
from labeling.task_ui.media import (
    MediaGrantInvalid,
    grant_read_access,
    media_grant_open,
)

TASK = {"input": {"source": "Hello World", "labels": ["a", "b", "c"], "n": 2}}


def render(source: str, task: dict | None = None) -> str:
    return render_custom(source, task or TASK)


def problem(source: str) -> TemplateProblem:
    with pytest.raises(TemplateProblem) as caught:
        render(source)
    return caught.value


# --- Liquid --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('{{ task.input.missing | default: "none" }}', "none"),
        ('{{ task.input.source | default: "none" }}', "Hello World"),
        ("{{ task.input.source | downcase }}", "hello world"),
        ("{{ task.input.source | upcase }}", "HELLO WORLD"),
        ("{{ task.input.labels | size }} {{ task.input.labels.size }}", "3 3"),
        ("{{ task.input.source | size }}", "11"),
        ("{{ task.input.labels | to_json }}", "[&#34;a&#34;, &#34;b&#34;, &#34;c&#34;]"),
        ("{{ task.input.labels | to_json | skip_autoescape }}", '["a", "b", "c"]'),
        ('{{ "<b>" }}|{{ "<b>" | escape }}', "&lt;b&gt;|&lt;b&gt;"),
        ('{{ "&lt;b&gt; & <i>" | escape_once }}', "&lt;b&gt; &amp; &lt;i&gt;"),
        ('{{ "<i>x</i>" | skip_autoescape }}', "<i>x</i>"),
        ('{% assign g = "hi" | upcase %}{{ g }}', "HI"),
        ("{% capture c %}[{{ task.input.n }}]{% endcapture %}{{ c }}{{ c }}", "[2][2]"),
        (
            "{% for l in task.input.labels %}{{ forloop.index }}{{ l }}"
            "{% unless forloop.last %},{% endunless %}{% endfor %}",
            "1a,2b,3c",
        ),
        ("{% for l in task.input.labels limit: 2 offset: 1 %}{{ l }}{% endfor %}", "bc"),
        ("{% for l in task.input.labels reversed %}{{ l }}{% endfor %}", "cba"),
        ("{% for i in (1..4) %}{% if i == 3 %}{% break %}{% endif %}{{ i }}{% endfor %}", "12"),
        ("{% for x in task.input.none %}x{% else %}empty{% endfor %}", "empty"),
        ('{% if task.input.source contains "World" %}yes{% else %}no{% endif %}', "yes"),
        ("{% if task.input.n > 5 %}big{% elsif task.input.n == 2 %}two{% endif %}", "two"),
        ("{% unless task.input.n == 2 %}not two{% endunless %}", ""),
        ("{% if task.input.missing == nil %}nil{% endif %}", "nil"),
        ("{% case task.input.n %}{% when 1, 2 %}low{% when 3 %}hi{% endcase %}", "low"),
        ("{% case task.input.n %}{% when 7 %}x{% else %}other{% endcase %}", "other"),
        ("a{% comment %} {{ nothing }} {% if %}{% endcomment %}b", "ab"),
        ("{% raw %}{{ kept }}{% endraw %}", "{{ kept }}"),
        ('{{ "a,b" | split: "," | join: "+" | append: "!" | prepend: "=" }}', "=a+b!"),
    ],
)
def test_liquid_renders_as_the_managed_service_does(source, expected):
    assert render(source) == expected


def test_the_managed_elements_script_becomes_quorums_own():
    html = render(
        '<script src="https://assets.crowd.aws/crowd-html-elements.js"></script>\n<crowd-form>'
    )
    assert "assets.crowd.aws" not in html
    assert '<script type="module" src="/work/frame-assets/elements/index.js"></script>' in html
    assert html.endswith("\n<crowd-form>")


def test_grant_read_access_signs_an_expiring_url(settings):
    url = render(
        "{{ task.input.taskObject | grant_read_access }}",
        {"input": {"taskObject": "s3://bucket/cat.jpg"}},
    )
    token = url.removeprefix("/api/v1/media/signed/")
    assert url.startswith("/api/v1/media/signed/")
    assert media_grant_open(token) == "s3://bucket/cat.jpg"
    with pytest.raises(MediaGrantInvalid, match="expired"):
        media_grant_open(token, now=time.time() + 7200)
    with pytest.raises(MediaGrantInvalid, match="not valid"):
        media_grant_open(token[:-2] + "xx")
    other = grant_read_access("s3://bucket/dog.jpg").removeprefix("/api/v1/media/signed/")
    assert media_grant_open(other) == "s3://bucket/dog.jpg"


# --- Errors name the author's line and column -----------------------------------------------


def test_a_syntax_error_names_line_and_column():
    found = problem("<p>\n  <b>{{ task.input.source | nosuchfilter }}</b>\n")
    assert (found.kind, found.line, found.column) == ("syntax", 2, 6)
    assert "nosuchfilter" in found.message


def test_an_unclosed_block_names_where_it_opened():
    found = problem("<p>\n\n    {% for x in task.input.labels %}\n{{ x }}\n")
    assert (found.line, found.column) == (3, 5)
    assert "endfor" in found.message


def test_a_stray_end_tag_is_named():
    found = problem("a\n{% endif %}")
    assert (found.line, found.column) == (2, 1)


def test_a_render_error_names_line_and_column():
    found = problem("<p>\n\n   {{ task.input.n | plus: 1 }} {{ task.input.n / 0 }}</p>")
    assert (found.kind, found.line, found.column) == ("render", 3, 33)
    assert "division" in found.message


# --- The sandbox stops what a task template must not do --------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        "{{ settings.SECRET_KEY }}",
        "{{ config }}",
        "{% for k in settings %}{{ k }}{% endfor %}",
        "{{ task.__class__.__init__.__globals__ }}",
        "{{ task.input.__class__ }}",
        "{{ task['__class__'] }}",
    ],
)
def test_reading_settings_or_python_internals_is_stopped(source):
    found = problem(source)
    assert found.kind == "render"
    assert "no variable" in found.message or "private" in found.message


@pytest.mark.parametrize(
    "source",
    [
        "{{ task.input.source.upper() }}",
        "{{ task.input.labels.append(1) }}",
        "{{ task.input.keys() }}",
        "{{ range(10) }}",
        "{{ lipsum() }}",
    ],
)
def test_calling_methods_is_stopped(source):
    found = problem(source)
    assert (
        "may read only" in found.message
        or "cannot call" in found.message
        or ("no variable" in found.message)
    )


@pytest.mark.parametrize(
    "source",
    [
        '{% import "os" as os %}',
        '{% from "os" import system %}',
        '{% include "secrets.html" %}',
        '{% extends "base.html" %}',
        "{% macro f() %}{{ f() }}{% endmacro %}",
    ],
)
def test_imports_and_includes_are_refused_at_compile_time(source):
    found = problem(source)
    assert found.kind == "syntax"
    assert "is not allowed" in found.message


def test_an_endless_loop_is_stopped():
    found = problem("{% for i in (1..10000) %}{% for j in (1..10000) %}{% endfor %}{% endfor %}")
    assert found.kind == "limit"
    assert "loops ran more than" in found.message


def test_a_huge_range_is_refused():
    found = problem("{% for i in (1..999999999) %}x{% endfor %}")
    assert found.kind == "limit"


@pytest.mark.parametrize(
    "source",
    [
        "{% for i in (1..10000) %}{% for j in (1..20) %}" + "x" * 100 + "{% endfor %}{% endfor %}",
        '{{ "x" * 1000000000 }}',
        '{% assign s = "xxxxxxxxxxxxxxxxxxxx" %}{{ s | replace: "x", s | append: s | append: s }}'
        '{{ s | replace: "x", "' + "y" * 200_000 + '" }}',
        '{% assign s = "' + "z" * 1_100 + '" %}{{ s | replace: "z", s | replace: "z", s }}',
    ],
)
def test_emitting_gigabytes_is_stopped(source):
    found = problem(source)
    assert found.kind == "limit"
    assert "characters" in found.message


def test_a_slow_render_is_stopped_by_its_time_budget(monkeypatch):
    monkeypatch.setattr(sandbox_module, "MAX_RENDER_SECONDS", 0.0)
    monkeypatch.setattr(sandbox_module.RenderBudget.__init__, "__defaults__", None)
    monkeypatch.setattr(sandbox_module.RenderBudget.__init__, "__kwdefaults__", {"seconds": 0.0})
    found = problem("{% for i in (1..1000) %}{{ i }}{% endfor %}")
    assert found.kind == "limit"
    assert "longer than" in found.message


def test_assign_cannot_shadow_the_guards():
    found = problem("{% assign quorum_loop = 1 %}")
    assert "reserved" in found.message


def test_carriage_returns_survive_html_parsing():
    html = render('<x text="{{ task.input.source }}">', {"input": {"source": "a\r\nb<"}})
    assert html == '<x text="a&#13;\nb&lt;">'


def test_of_several_tags_on_a_line_the_failing_one_is_named():
    found = problem("<p>{{ task.input.n }} and {{ task.input.n | nosuch: 1 }}</p>")
    assert (found.kind, found.line, found.column) == ("syntax", 1, 27)
    found = problem("<p>{{ task.input.n }} {{ task.input.source }} {{ task.input.n / 0 }}</p>")
    assert (found.kind, found.line, found.column) == ("render", 1, 47)


# --- No single step outlasts the budget; nothing internal reaches the author (issue 12) ------

_INTERNALS = ("TemplateReference", "LoopContext", "RenderBudget", "0x", "<", "sys.", "labeling.")


def _shows_nothing_internal(text: str) -> None:
    for marker in _INTERNALS:
        assert marker not in text, text
    for python_type in ("'int'", "'str'", "'float'", "'list'", "NoneType"):
        assert python_type not in text, text


@pytest.mark.parametrize(
    "source",
    [
        "{{ (((9**64)**64)**64)**64 }}",
        "{{ 10**5000 }}",
        "{{ 2**100000000 }}",
        "{{ (7**1000) * (7**1000) * (7**1000) }}",
        "{% assign a = 9**60 %}" + "".join("{% assign a = a * a %}" for _ in range(20)) + "{{ a }}",
        "{% assign a = 99999999999 %}"
        + "".join("{% assign a = a | times: a %}" for _ in range(20))
        + "{{ a }}",
        "{{ 99999999999" + " | times: 99999999999999" * 100 + " }}",
    ],
)
def test_arithmetic_on_huge_numbers_is_refused_before_it_runs(source):
    found = problem(source)
    assert found.kind == "limit"
    assert "number of more than" in found.message
    _shows_nothing_internal(found.message)


@pytest.mark.parametrize(
    "source",
    [
        '{{ "%0999999999d" % 1 }}',
        "{% assign a = task.input.nested * 1000 %}{% assign b = a * 1000 %}{{ b | size }}",
    ],
)
def test_building_huge_text_or_lists_in_one_step_is_refused(source):
    found = problem(source) if "nested" not in source else _problem_on_nested(source)
    assert found.kind in ("limit", "render")
    _shows_nothing_internal(found.message)


def _problem_on_nested(source: str) -> TemplateProblem:
    with pytest.raises(TemplateProblem) as caught:
        render(source, {"input": {"nested": [["abcdefghij"] * 10]}})
    return caught.value


def test_a_list_written_with_names_is_refused_at_compile_time():
    found = problem('{% assign a = "ab" | split: "" %}\n{% assign b = [a, a] %}{{ b }}')
    assert (found.kind, found.line) == ("syntax", 2)
    assert "fixed values" in found.message
    assert render('{% if "b" in ["a", "b"] %}yes{% endif %}') == "yes"


@pytest.mark.parametrize(
    "source",
    [
        "{{ self }}",
        "{{ self | to_json }}",
        "{{ self | append: 1 }}",
        '{{ "x" + self }}',
        "{{ quorum_loop }}",
        "{{ quorum_range | to_json }}",
        "{% for i in (1..2) %}{{ loop }}{% endfor %}",
        "{% for i in (1..2) %}{{ loop | escape }}{% endfor %}",
    ],
)
def test_engine_objects_show_nothing_internal(source):
    try:
        html = render(source)
    except TemplateProblem as found:
        assert found.line == 1
        _shows_nothing_internal(found.message)
    else:
        assert html == "", html


def test_a_number_too_long_to_print_gives_a_clean_error_with_its_position():
    found = problem("<p>\n{{ 10**5000 }}</p>")
    assert (found.kind, found.line, found.column) == ("limit", 2, 1)
    _shows_nothing_internal(found.message)
    found = problem("<p>\n\n  {{ 1" + "0" * 5000 + " }}</p>")
    assert (found.kind, found.line, found.column) == ("syntax", 3, 3)
    assert "too many digits" in found.message
    _shows_nothing_internal(found.message)


def test_python_errors_are_told_in_quorums_words():
    found = problem('{{ task.input.n + "a" }}')
    assert (found.kind, found.line) == ("render", 1)
    assert "cannot be used together" in found.message
    _shows_nothing_internal(found.message)


def test_a_sample_with_a_number_too_long_is_refused_cleanly():
    with pytest.raises(TemplateProblem) as caught:
        sample_task('{"n": 1' + "0" * 5000 + "}")
    assert "too many digits" in caught.value.message
    _shows_nothing_internal(caught.value.message)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{{ 2**10 }} {{ 9**64 > 0 }}", "1024 true"),
        ("{{ 7 % 3 }} {{ 10 / 4 }} {{ 7 // 2 }} {{ 5 - 8 }}", "1 2.5 3 -3"),
        ("{{ task.input.n | times: 3 | plus: 1 | minus: 2 }}", "5"),
        (
            '{{ "ab" * 3 }} {% assign l = task.input.labels * 2 %}{{ l | size }}',
            "ababab 6",
        ),
    ],
)
def test_ordinary_arithmetic_still_works(source, expected):
    assert render(source) == expected
