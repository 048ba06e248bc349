"""Templates written as for the managed service render unchanged, one per element.

Each keeps its element, attributes and regions, with Liquid expressions filled in and the
data escaped; the browser tests (tests/browser/test_elements_and_templates.py) fill the same
kinds of templates in and submit them.
"""

import pytest

from labeling.task_ui.custom import render_custom, sample_task

SAMPLE = {
    "source": 'He said "hi" & left <quickly>',
    "source-ref": "s3://bucket/images/cat 1.jpg",
    "labels": ["Dog", "Cat"],
    "title": "Review",
}

TEMPLATES = {
    "crowd-form": (
        '<crowd-form><crowd-input name="x"></crowd-input></crowd-form>',
        ["<crowd-form>", '<crowd-input name="x">'],
    ),
    "crowd-button": (
        '<crowd-button form-action="submit" variant="primary">{{ "Send" | upcase }}</crowd-button>',
        ['<crowd-button form-action="submit" variant="primary">SEND</crowd-button>'],
    ),
    "crowd-classifier": (
        '<crowd-classifier name="category" categories="{{ task.input.labels | to_json | escape }}"'
        ' header="Pick one"><classification-target>{{ task.input.source }}'
        "</classification-target></crowd-classifier>",
        [
            'categories="[&#34;Dog&#34;, &#34;Cat&#34;]"',
            "He said &#34;hi&#34; &amp; left &lt;quickly&gt;",
        ],
    ),
    "crowd-classifier-multi-select": (
        '<crowd-classifier-multi-select name="topics" categories=\'{{ task.input.labels | '
        'to_json }}\' exclusion-category=\'{ "text": "None" }\'>'
        "</crowd-classifier-multi-select>",
        [
            "categories='[&#34;Dog&#34;, &#34;Cat&#34;]'",
            'exclusion-category=\'{ "text": "None" }\'',
        ],
    ),
    "crowd-image-classifier": (
        '<crowd-image-classifier name="animal"'
        ' src="{{ task.input.taskObject | grant_read_access }}"'
        " categories=\"['Dog', 'Cat']\"></crowd-image-classifier>",
        ['src="/api/v1/media/signed/'],
    ),
    "crowd-entity-annotation": (
        '<crowd-entity-annotation name="entities" text="{{ task.input.source }}"'
        ' labels=\'[{"label": "person", "shortDisplayName": "per"}]\''
        ' header="Mark people"></crowd-entity-annotation>',
        ['text="He said &#34;hi&#34; &amp; left &lt;quickly&gt;"', "shortDisplayName"],
    ),
    "crowd-input": (
        '<crowd-input name="tag" label="{{ task.input.title }}" required max-length="20">'
        "</crowd-input>",
        ['<crowd-input name="tag" label="Review" required max-length="20">'],
    ),
    "crowd-text-area": (
        '<crowd-text-area name="comment" rows="4" char-counter placeholder="{{ task.input.title '
        '| downcase }}"></crowd-text-area>',
        ['placeholder="review"'],
    ),
    "crowd-checkbox": (
        '<crowd-checkbox name="ok" value="yes" {% if task.input.title %}checked{% endif %}>'
        "Fine</crowd-checkbox>",
        ['<crowd-checkbox name="ok" value="yes" checked>Fine</crowd-checkbox>'],
    ),
    "crowd-radio-group": (
        "<crowd-radio-group>{% for l in task.input.labels %}"
        '<crowd-radio-button name="{{ l | downcase }}" value="{{ l }}">{{ l }}</crowd-radio-button>'
        "{% endfor %}</crowd-radio-group>",
        [
            '<crowd-radio-button name="dog" value="Dog">Dog</crowd-radio-button>',
            '<crowd-radio-button name="cat" value="Cat">Cat</crowd-radio-button>',
        ],
    ),
    "crowd-radio-button": (
        '<crowd-radio-group><crowd-radio-button name="btn1" value="yes" checked>Yes'
        "</crowd-radio-button></crowd-radio-group>",
        ['<crowd-radio-button name="btn1" value="yes" checked>Yes</crowd-radio-button>'],
    ),
    "crowd-slider": (
        '<crowd-slider name="howMuch" min="1" max="{{ task.input.labels | size | times: 5 }}"'
        ' step="1" pin editable></crowd-slider>',
        ['max="10"'],
    ),
    "crowd-card": (
        '<crowd-card heading="{{ task.input.title }}" image="{{ task.input.taskObject | '
        'grant_read_access }}"><div class="card-content">x</div></crowd-card>',
        ['heading="Review"', 'image="/api/v1/media/signed/'],
    ),
    "crowd-alert": (
        '<crowd-alert type="{% if task.input.title %}warning{% else %}info{% endif %}" dismissible>'
        "Careful</crowd-alert>",
        ['<crowd-alert type="warning" dismissible>Careful</crowd-alert>'],
    ),
    "crowd-instructions": (
        '<crowd-instructions link-text="View instructions" link-type="button">'
        "<short-summary>{{ task.input.title }}</short-summary>"
        "<detailed-instructions>More</detailed-instructions>"
        "<positive-example>Good</positive-example><negative-example>Bad</negative-example>"
        "</crowd-instructions>",
        ["<short-summary>Review</short-summary>", "<negative-example>Bad</negative-example>"],
    ),
    "short-instructions": (
        "<short-instructions>{{ task.input.source | escape_once }}</short-instructions>",
        [
            "<short-instructions>He said &#34;hi&#34; &amp; left &lt;quickly&gt;"
            "</short-instructions>"
        ],
    ),
    "full-instructions": (
        '<full-instructions header="{{ task.input.title }}">{% capture c %}<b>'
        "{{ task.input.title }}</b>{% endcapture %}{{ c }}</full-instructions>",
        ['<full-instructions header="Review"><b>Review</b></full-instructions>'],
    ),
    "crowd-toast": (
        '<crowd-toast duration="5000" text="{{ task.input.missing | default: \'Saved\' }}">'
        "</crowd-toast>",
        ['<crowd-toast duration="5000" text="Saved"></crowd-toast>'],
    ),
    "crowd-modal": (
        '<crowd-modal link-text="Glossary" link-type="link">{% unless task.input.none %}'
        "Words{% endunless %}</crowd-modal>",
        ['<crowd-modal link-text="Glossary" link-type="link">Words</crowd-modal>'],
    ),
}


@pytest.mark.parametrize("element", sorted(TEMPLATES))
def test_a_managed_style_template_renders_unchanged(element):
    source, expected = TEMPLATES[element]
    html = render_custom(
        '<script src="https://assets.crowd.aws/crowd-html-elements.js"></script>\n' + source,
        sample_task(SAMPLE),
    )
    assert "assets.crowd.aws" not in html
    assert f"<{element}" in html
    for piece in expected:
        assert piece in html, html


# The drawing elements, each in a whole template as the managed service's documentation
# writes them: the script line, <crowd-form>, the image through grant_read_access, labels
# as a JavaScript-style list, instructions, and an initial-value built with Liquid where
# the element takes one. The browser tests (tests/browser/test_drawing_templates.py) draw
# on the same templates and submit them.
DRAWING_SAMPLE = {
    "taskObject": "s3://bucket/street/0001.jpg",
    "labels": ["car", "person"],
    "boxes": [{"label": "car", "left": 10, "top": 20, "width": 30, "height": 40}],
    "points": [{"label": "nose", "x": 5, "y": 6}],
}


def drawing_template(tag: str, name: str, attributes: str = "") -> str:
    return f"""<script src="https://assets.crowd.aws/crowd-html-elements.js"></script>
<crowd-form>
  <{tag} name="{name}" src="{{{{ task.input.taskObject | grant_read_access }}}}"
      header="Label the {{{{ task.input.labels | size }}}} kinds of object" {attributes}>
    <full-instructions header="How to draw"><p>Draw every object.</p></full-instructions>
    <short-instructions><p>Use the tools.</p></short-instructions>
  </{tag}>
</crowd-form>"""


DRAWING_TEMPLATES = {
    "crowd-bounding-box": (
        drawing_template(
            "crowd-bounding-box",
            "annotatedResult",
            'labels="{{ task.input.labels | to_json | escape }}"\n'
            "      initial-value=\"[{% for box in task.input.boxes %}{ label: '{{ box.label }}',"
            " left: {{ box.left }}, top: {{ box.top }}, width: {{ box.width }},"
            ' height: {{ box.height }} },{% endfor %}]"',
        ),
        [
            'labels="[&#34;car&#34;, &#34;person&#34;]"',
            "initial-value=\"[{ label: 'car', left: 10, top: 20, width: 30, height: 40 },]\"",
        ],
    ),
    "crowd-polygon": (
        drawing_template("crowd-polygon", "annotatedResult", "labels=\"['roof', 'door']\""),
        ["labels=\"['roof', 'door']\""],
    ),
    "crowd-polyline": (
        drawing_template(
            "crowd-polyline", "crowdPolyline", "labels=\"['car','pedestrian','street car']\""
        ),
        ["labels=\"['car','pedestrian','street car']\""],
    ),
    "crowd-line": (
        drawing_template("crowd-line", "crowdLine", "labels=\"['horizon', 'pole']\""),
        ["labels=\"['horizon', 'pole']\""],
    ),
    "crowd-keypoint": (
        drawing_template(
            "crowd-keypoint",
            "annotatedResult",
            "labels=\"['nose', 'left eye']\" initial-value='{{ task.input.points | to_json }}'",
        ),
        ["initial-value='[{&#34;label&#34;: &#34;nose&#34;, &#34;x&#34;: 5, &#34;y&#34;: 6}]'"],
    ),
    "crowd-semantic-segmentation": (
        drawing_template(
            "crowd-semantic-segmentation", "annotatedResult", "labels=\"['Cat', 'Dog', 'Bird']\""
        ),
        ["labels=\"['Cat', 'Dog', 'Bird']\""],
    ),
    "crowd-instance-segmentation": (
        drawing_template(
            "crowd-instance-segmentation", "annotatedResult", "labels=\"['Cat', 'Dog', 'Bird']\""
        ),
        ["labels=\"['Cat', 'Dog', 'Bird']\""],
    ),
    "crowd-image-classifier-multi-select": (
        drawing_template(
            "crowd-image-classifier-multi-select",
            "animals",
            "categories=\"['Cat', 'Dog', 'Bird']\" exclusion-category='{ \"text\": \"None\" }'",
        ),
        ["categories=\"['Cat', 'Dog', 'Bird']\""],
    ),
}


@pytest.mark.parametrize("element", sorted(DRAWING_TEMPLATES))
def test_a_managed_style_drawing_template_renders_unchanged(element):
    source, expected = DRAWING_TEMPLATES[element]
    html = render_custom(source, sample_task(DRAWING_SAMPLE))
    assert "assets.crowd.aws" not in html
    assert '<script type="module" src="/work/frame-assets/elements/index.js"></script>' in html
    assert "<crowd-form>" in html and f"<{element} name=" in html and f"</{element}>" in html
    assert 'src="/api/v1/media/signed/' in html
    assert 'header="Label the 2 kinds of object"' in html
    assert '<full-instructions header="How to draw"><p>Draw every object.</p>' in html
    assert "<short-instructions><p>Use the tools.</p></short-instructions>" in html
    for piece in expected:
        assert piece in html, html
