"""The map in docs/architecture.md against the code: folders, who imports whom, and no torch or
scikit-learn in the web process."""

import ast
import os
import re
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = ("labeling", "workflows", "active_learning", "control_plane", "config")
HEAVY = ("torch", "sklearn")
# The order of the apps: each may import the ones before it, never one after it.
APP_ORDER = ("labeling", "workflows", "active_learning", "control_plane")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def _modules() -> dict[str, Path]:
    """Every project module (migrations aside), by dotted name."""
    found = {}
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" not in path.parts:
                found[_module_name(path)] = path
    return found


@cache
def _imports(module: str) -> tuple[tuple[str, bool], ...]:
    """(imported name, at module level?) for every import of a module, functions' included.

    ``from a.b import c`` yields ``a.b`` and ``a.b.c`` (c may be a module or a name in it)."""
    path = _modules()[module]
    tree = ast.parse(path.read_text(), filename=str(path))
    top_level = {id(node) for node in tree.body}
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            names = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        found.extend((name, id(node) in top_level) for name in names)
    return tuple(found)


def _project_module(name: str) -> str | None:
    """The project module an imported name lives in (the longest dotted prefix that is one)."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in _modules():
            return candidate
    return None


def _folder(module: str) -> str:
    """The folder of the map a module belongs to: an app, or a package directly inside one."""
    parts = module.split(".")
    if len(parts) > 1 and (ROOT / parts[0] / parts[1] / "__init__.py").exists():
        return f"{parts[0]}/{parts[1]}/"
    return f"{parts[0]}/"


def _map_rows() -> dict[str, set[str]]:
    """docs/architecture.md's map: folder -> the folders it may import."""
    text = (ROOT / "docs" / "architecture.md").read_text()
    section = text.split("## The map", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not re.fullmatch(r"`[\w/]+/`", cells[0]):
            continue
        rows[cells[0].strip("`")] = set(re.findall(r"`([\w/]+/)`", cells[2]))
    return rows


def _map_folders() -> set[str]:
    """Every folder of the map: the apps and the packages directly inside them (no migrations)."""
    folders = set()
    for app in APPS:
        folders.add(f"{app}/")
        for init in (ROOT / app).glob("*/__init__.py"):
            if init.parent.name != "migrations":
                folders.add(f"{app}/{init.parent.name}/")
    return folders


def test_the_map_lists_exactly_the_folders_that_exist():
    assert set(_map_rows()) == _map_folders()


def test_each_folder_imports_only_what_the_map_allows():
    allowed = _map_rows()
    breaches = []
    for module in _modules():
        source = _folder(module)
        for name, _ in _imports(module):
            target = _project_module(name)
            if target is None or _folder(target) == source:
                continue
            if _folder(target) not in allowed.get(source, set()):
                breaches.append(f"{module} imports {target} ({_folder(target)})")
    assert breaches == [], "imports the map in docs/architecture.md does not allow"


@pytest.mark.parametrize("app", APP_ORDER)
def test_apps_import_one_way(app):
    later = APP_ORDER[APP_ORDER.index(app) + 1 :]
    backwards = [
        f"{module} imports {name}"
        for module in _modules()
        if module.split(".")[0] == app
        for name, _ in _imports(module)
        if name.split(".")[0] in later
    ]
    assert backwards == []


def test_strategies_and_quality_math_are_pure():
    """Consolidation and the math of label quality take arrays: no Django, no ORM."""
    pure = ("labeling.consolidation", "labeling.quality.math", "workflows.monitoring.stats")
    impure = [
        f"{module} imports {name}"
        for module in _modules()
        if module.startswith(pure)
        for name, _ in _imports(module)
        if name.split(".")[0] == "django"
        or (_project_module(name) and not _project_module(name).startswith(pure))
    ]
    assert impure == []


SUBDOMAIN_WORDS = {
    "quality",
    "gold",
    "workforce",
    "workforces",
    "vendor",
    "crowd",
    "template",
    "templates",
    "export",
    "exports",
    "import",
    "imports",
    "ui",
}
ROOMS = {"api", "views", "selectors", "serializers", "forms", "tasks", "services", "models"}


def test_no_top_level_module_of_labeling_is_named_after_a_subdomain():
    """A sub-domain has its folder; no api_x.py / x_selectors.py / quality_y.py beside the core.
    (urls_api.py is the core's API routes, as in workflows/.)"""
    offending = []
    for path in [*(ROOT / "labeling").glob("*.py"), *(ROOT / "labeling/services").glob("*.py")]:
        words = path.stem.split("_")
        if path.stem == "urls_api":
            continue
        if SUBDOMAIN_WORDS & set(words) or (len(words) > 1 and {words[0], words[-1]} & ROOMS):
            offending.append(str(path.relative_to(ROOT)))
    assert offending == []


def _static_closure(roots: list[str]) -> set[str]:
    """Project modules reachable from the roots by imports at module level and URL includes."""
    seen, todo = set(), list(roots)
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        parts = module.split(".")
        todo.extend(".".join(parts[:end]) for end in range(1, len(parts)))  # its packages
        for name, top_level in _imports(module):
            target = _project_module(name)
            if target and top_level:
                todo.append(target)
        # URL files mount others by name: include("labeling.urls_api")
        todo.extend(re.findall(r'include\(\s*"([\w.]+)"', _modules()[module].read_text()))
    return seen & set(_modules())


def test_the_web_process_never_imports_torch_or_sklearn_statically():
    app_path = r'"((?:' + "|".join(APPS) + r')\.[\w.]+)"'  # "labeling.middleware.X"
    settings_strings = re.findall(app_path, _settings_source())
    roots = ["config.wsgi", "config.urls", "config.settings"]
    roots += [_project_module(name) for name in settings_strings if _project_module(name)]
    for app in APP_ORDER:
        roots += [m for m in (f"{app}.apps", f"{app}.models", f"{app}.admin") if m in _modules()]
        # AppConfig.ready() imports (receivers, tasks) run in every process
        roots += [
            _project_module(name) for name, _ in _imports(f"{app}.apps") if _project_module(name)
        ]
    closure = _static_closure(roots)
    heavy = sorted(
        f"{module} imports {name}"
        for module in closure
        for name, top_level in _imports(module)
        if top_level and name.split(".")[0] in HEAVY
    )
    assert "config.urls" in closure and "labeling.quality.api" in closure
    assert heavy == []


@cache
def _settings_source() -> str:
    return (ROOT / "config" / "settings.py").read_text()


PROBE = """
import sys
PROJECT = ("labeling", "workflows", "active_learning")
import config.wsgi
from django.urls import get_resolver

def walk(patterns):
    for pattern in patterns:
        if hasattr(pattern, "url_patterns"):
            walk(pattern.url_patterns)
        else:
            pattern.callback

walk(get_resolver().url_patterns)
print("heavy:", ",".join(sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "sklearn"))))
print("loaded:", ",".join(sorted(m for m in sys.modules if m.split(".")[0] in PROJECT)))
"""


def test_the_web_process_never_imports_torch_or_sklearn():
    """A process that loads the WSGI application and every view holds neither."""
    env = {**os.environ, "DEBUG": "1", "DJANGO_SETTINGS_MODULE": "config.settings"}
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    heavy, loaded = done.stdout.splitlines()[-2:]
    loaded_modules = set(loaded.removeprefix("loaded: ").split(","))
    # the views of every app and sub-domain were really loaded
    assert {
        "labeling.quality.views",
        "labeling.data.api",
        "active_learning.views",
    } <= loaded_modules
    assert heavy == "heavy: "
