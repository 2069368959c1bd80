"""The package surface: every public name imports, nothing heavy loads at import time, and the
type checkers' view of the names (the ``TYPE_CHECKING`` block) is the runtime's (``_EXPORTS``)."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import fastcrew
import fastcrew.errors

HEAVY = ("aiohttp", "httpx", "pydantic", "uvloop", "rich", "click", "yaml", "ray", "orjson")
"""Third-party libraries ``import fastcrew`` must not load (the first use of a name does)."""


ROOT = Path(fastcrew.__file__).resolve().parents[1]
IMPORT_NAMES = {"pyyaml": "yaml", "genai-prices": "genai_prices"}
"""Distribution names whose import name differs."""


def run_python(code: str) -> str:
    """``code`` in a fresh interpreter (nothing imported yet); its stdout."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_every_public_name_imports_in_a_fresh_process_and_is_its_module_s_object():
    code = (
        "import importlib, json, fastcrew\n"
        "bad = []\n"
        "for name in fastcrew.__all__:\n"
        "    value = getattr(fastcrew, name)\n"
        "    home = importlib.import_module(fastcrew._EXPORTS[name])\n"
        "    if value is None or value is not getattr(home, name):\n"
        "        bad.append(name)\n"
        "ns = {}\n"
        "exec('from fastcrew import *', ns)\n"
        "print(json.dumps({'bad': bad, 'star': sorted(set(ns) - {'__builtins__'})}))\n"
    )
    found = json.loads(run_python(code))
    assert found["bad"] == []
    assert found["star"] == sorted(fastcrew.__all__)
    assert set(fastcrew.__all__) == set(fastcrew._EXPORTS)
    assert set(fastcrew.__all__) <= set(dir(fastcrew))


def test_unknown_attribute_is_an_attribute_error():
    with pytest.raises(AttributeError, match="NoSuchThing"):
        _ = fastcrew.NoSuchThing


def test_import_fastcrew_loads_no_heavy_library_and_no_submodule_but_the_lazy_loader():
    code = (
        "import json, sys\n"
        "before = set(sys.modules)\n"
        "import fastcrew\n"
        "new = sorted(set(sys.modules) - before)\n"
        "print(json.dumps(new))\n"
    )
    loaded = json.loads(run_python(code))
    heavy = [m for m in loaded if m.split(".")[0] in HEAVY]
    assert heavy == []
    assert [m for m in loaded if m.startswith("fastcrew")] == ["fastcrew", "fastcrew._lazy"]


def _type_checking_imports(tree: ast.Module) -> dict[str, str]:
    """``{name: "fastcrew.<module>"}`` of the ``if TYPE_CHECKING:`` block's imports."""
    blocks = [
        node
        for node in tree.body
        if isinstance(node, ast.If)
        and isinstance(node.test, ast.Name)
        and node.test.id == "TYPE_CHECKING"
    ]
    assert len(blocks) == 1, "fastcrew/__init__.py has one `if TYPE_CHECKING:` block"
    names: dict[str, str] = {}
    for node in blocks[0].body:
        assert isinstance(node, ast.ImportFrom), ast.unparse(node)
        assert node.level == 1, ast.unparse(node)
        for alias in node.names:
            assert alias.asname is None, ast.unparse(node)
            assert alias.name not in names, f"{alias.name} imported twice"
            names[alias.name] = f"fastcrew.{node.module}"
    return names


def test_the_type_checking_block_names_exactly_the_lazy_exports_from_the_same_modules():
    source = Path(fastcrew.__file__).read_text(encoding="utf-8")
    imported = _type_checking_imports(ast.parse(source))
    missing = sorted(set(fastcrew._EXPORTS) - set(imported))
    extra = sorted(set(imported) - set(fastcrew._EXPORTS))
    assert (missing, extra) == ([], []), "TYPE_CHECKING block and _EXPORTS disagree"
    assert imported == fastcrew._EXPORTS


def test_an_export_mapped_to_the_wrong_module_is_caught_by_the_block_check():
    # The check above on a copy of the file with one mapping changed (the drift it guards).
    source = Path(fastcrew.__file__).read_text(encoding="utf-8")
    drifted = source.replace('"Crew": "fastcrew.runtime"', '"Crew": "fastcrew.flow"', 1)
    assert drifted != source
    tree = ast.parse(drifted)
    exports = next(
        ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.AnnAssign) and ast.unparse(node.target) == "_EXPORTS"
    )
    assert _type_checking_imports(tree) != exports


def _imported_top_level_modules(package: Path) -> set[str]:
    found: set[str] = set()
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return found


def test_every_runtime_dependency_is_imported_by_the_package():
    """A library only bench/ or tests/ use belongs in the ``test`` extra, not in everyone's
    install (aiolimiter was a runtime dependency used only by bench/)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    names = [
        re.split(r"[<>=!~;\[ ]", req, maxsplit=1)[0].lower() for req in project["dependencies"]
    ]
    imported = _imported_top_level_modules(ROOT / "fastcrew")
    unused = [name for name in names if IMPORT_NAMES.get(name, name) not in imported]
    assert unused == [], f"runtime dependencies fastcrew/ never imports: {unused}"


def test_error_hierarchy_is_drawn_in_the_docstring():
    doc = fastcrew.errors.__doc__
    for name in fastcrew.errors.__all__:
        assert name in doc, f"{name} missing from the hierarchy drawing"
        assert issubclass(getattr(fastcrew.errors, name), fastcrew.errors.FastCrewError)


def test_the_package_ships_its_py_typed_marker():
    """PEP 561: without ``py.typed`` in the wheel, users' type checkers ignore our hints."""
    root = Path(fastcrew.__file__).parent
    assert (root / "py.typed").is_file()
    project = tomllib.loads((root.parent / "pyproject.toml").read_text())
    assert "py.typed" in project["tool"]["setuptools"]["package-data"]["fastcrew"]
