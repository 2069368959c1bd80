"""The package surface: sorted public names, lazy imports, no heavy work at import time."""

import subprocess
import sys

import pytest

import fastcrew
import fastcrew.errors


def test_all_is_sorted_and_every_name_resolves():
    assert fastcrew.__all__ == sorted(fastcrew.__all__)
    for name in fastcrew.__all__:
        assert getattr(fastcrew, name) is not None
    assert set(fastcrew.__all__) <= set(dir(fastcrew))


def test_unknown_attribute_is_an_attribute_error():
    with pytest.raises(AttributeError, match="NoSuchThing"):
        _ = fastcrew.NoSuchThing


def test_import_is_lazy():
    code = (
        "import sys, fastcrew; "
        "heavy = {'aiohttp', 'httpx', 'pydantic', 'uvloop', 'rich', 'click'} & set(sys.modules); "
        "print(sorted(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_error_hierarchy_is_drawn_in_the_docstring():
    doc = fastcrew.errors.__doc__
    for name in fastcrew.errors.__all__:
        assert name in doc, f"{name} missing from the hierarchy drawing"
        assert issubclass(getattr(fastcrew.errors, name), fastcrew.errors.FastCrewError)
