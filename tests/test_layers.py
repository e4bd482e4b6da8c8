"""The house's plan, enforced: which rooms may import which, what stays Flask-free, how big a room gets."""

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PORTAL = ROOT / "portal"
MODULES = sorted(p for p in PORTAL.rglob("*.py"))
BLUEPRINTS = ("signin", "pages", "api")
# Flask-free beyond core: the settings, the pages' shaping (beside which the tax maths lives), the hop's rules.
FLASK_FREE = ["portal", "portal.settings", "portal.api.hop", "portal.web.rules", "portal.web.problems", "portal.pages.reading",
              "portal.pages.portfolio", "portal.pages.models", "portal.pages.trades", "portal.pages.money", "portal.pages.cgt",
              "portal.pages.planner", "portal.pages.tax_report", "portal.pages.corporate_actions",
              "portal.pages.income", "portal.pages.positions", "portal.pages.charts", "portal.pages.formatting"]
MAX_LINES = 400  # past this a module holds more than one job


def dotted(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """The portal modules a module imports (relative imports resolved), at any depth of the file."""
    package = dotted(path) if path.name == "__init__.py" else dotted(path).rpartition(".")[0]
    return imports_from_source(path.read_text(), package)


def imports_from_source(source: str, package: str) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.add(module)
            found |= {f"{module}.{alias.name}" for alias in node.names}
    return {name for name in found if name.startswith("portal.")}  # the bare package is only its docstring


def room_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "portal"


def core_modules() -> list[str]:
    return [dotted(p) for p in MODULES if room_of(dotted(p)) == "core"]


def test_the_core_and_the_pure_rooms_import_neither_flask_nor_werkzeug():
    """In a fresh interpreter: importing all of them leaves Flask and werkzeug out of sys.modules."""
    modules = core_modules() + FLASK_FREE
    script = ("import importlib, json, sys\n"
              f"for name in {modules!r}: importlib.import_module(name)\n"
              "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ('flask', 'werkzeug'))))")
    loaded = json.loads(subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True,
                                       check=True).stdout)
    assert len(core_modules()) >= 10
    assert loaded == []


def test_the_portal_never_loads_authlib_which_only_the_sandbox_uses():
    script = "import sys, portal.app; print('authlib' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True,
                          check=True).stdout.strip() == "False"
    assert "authlib" not in (ROOT / "requirements.txt").read_text().lower()


@pytest.mark.parametrize("path", MODULES, ids=dotted)
def test_each_room_imports_only_the_rooms_below_it(path):
    module, room = dotted(path), room_of(dotted(path))
    rooms = {room_of(name) for name in imports_of(path)} - {room}
    allowed = {
        "core": set(),  # settings are read by app.py and handed in as plain values
        "settings": set(),
        "web": {"core", "settings"},
        "signin": {"web", "core", "settings"},
        "pages": {"web", "core", "settings"},
        "api": {"web", "core", "settings"},
        "health": {"web", "core"},
        "app": {"web", "core", "settings", *BLUEPRINTS, "health"},
        "asgi": {"settings"},  # the servers' adapter around the WSGI app: below it, beside nothing
        "worker": {"asgi"},  # gunicorn's worker: the adapter, and nothing of the app's
        "portal": set(),
    }[room]
    assert rooms <= allowed, f"{module} imports {sorted(rooms - allowed)}"


# Inside core, by concern: the lower packages never import the higher ones.
CORE_CONCERNS = {
    "values": set(),
    "storage": {"values"},
    "observability": set(),
    "oauth": {"storage", "observability", "values"},
    "navexa": {"storage", "observability", "values"},
    "sessions": {"storage", "observability", "values", "oauth.refresh_failures"},
}


def concern_of(module: str) -> str:
    return module.split(".")[2]


@pytest.mark.parametrize("path", [p for p in MODULES if room_of(dotted(p)) == "core" and len(dotted(p).split(".")) > 2],
                         ids=dotted)
def test_each_core_concern_imports_only_those_below_it(path):
    """sessions may use the refresh failures (the token store's contract), never the provider itself."""
    module, concern = dotted(path), concern_of(dotted(path))
    used = set()
    for name in imports_of(path):
        if room_of(name) != "core" or len(name.split(".")) < 3 or concern_of(name) == concern:
            continue
        parts = name.split(".")
        used.add(concern_of(name) if concern_of(name) != "oauth" or len(parts) < 4 else f"oauth.{parts[3]}")
    allowed = CORE_CONCERNS[concern]
    assert {u for u in used if u not in allowed and u.split(".")[0] not in allowed} == set(), module


def test_core_is_in_its_concern_packages():
    loose = sorted(dotted(p) for p in (PORTAL / "core").glob("*.py") if p.name not in ("__init__.py", "values.py"))
    assert loose == []
    assert {p.name for p in (PORTAL / "core").iterdir() if p.is_dir() and p.name != "__pycache__"} == set(CORE_CONCERNS) - {"values"}


def test_the_blueprints_never_import_each_other():
    for path in MODULES:
        room = room_of(dotted(path))
        if room in BLUEPRINTS:
            others = {room_of(name) for name in imports_of(path)} & (set(BLUEPRINTS) - {room})
            assert not others, f"{dotted(path)} imports {sorted(others)}"


@pytest.mark.parametrize("path", MODULES, ids=dotted)
def test_no_room_holds_more_than_one_job(path):
    assert len(path.read_text().splitlines()) <= MAX_LINES


def test_the_layer_check_sees_an_import_it_must_refuse():
    """The checker itself: a core module importing web would be caught (relative and absolute forms)."""
    source = "from ..web import services\nimport portal.pages.views\n"
    found = imports_from_source(source, "portal.core")
    assert {room_of(name) for name in found} >= {"web", "pages"}


def test_the_architectures_layout_names_every_module_of_the_portal():
    architecture = (ROOT / "docs" / "architecture.md").read_text()
    layout = architecture.split("## Layout", 1)[1].split("```", 2)[1]
    for path in MODULES:
        rel = path.relative_to(PORTAL)
        if path.name != "__init__.py":
            assert path.name in layout, f"docs/architecture.md's layout does not name {rel}"
        for package in rel.parts[:-1]:
            assert f"{package}/" in layout, f"docs/architecture.md's layout does not name the package {package}/"


def test_every_test_the_conformance_tables_name_exists():
    """The BFF table's evidence is real: each `file::test` it names is a test function in that file."""
    conformance = (ROOT / "docs" / "conformance.md").read_text()
    table = conformance.split("## The BFF, point by point", 1)[1].split("\n## ", 1)[0]
    named, missing = 0, []
    for line in table.splitlines():
        if not line.startswith("| ") or "---" in line:
            continue
        current = None
        for ref in re.findall(r"`((?:test_\w+)?::test_\w+)(?:\[[^\]]*\])?`", line):
            file, _, name = ref.partition("::")
            current = file or current
            named += 1
            source = (ROOT / "tests" / f"{current}.py").read_text() if current else ""
            if f"def {name}(" not in source:
                missing.append(ref)
    assert named >= 50 and missing == []
