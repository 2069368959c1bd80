"""Choosing the backend, and Ray staying out of the local backend (no cluster needed)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from batch.helpers import CREW, write_inputs

from fastcrew import ConfigurationError, run_batch
from fastcrew.batch.defaults import _backend

NO_RAY = "import sys; sys.modules['ray'] = None  # `import ray` now fails as if not installed\n"


def python(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=cwd, timeout=120
    )


def test_without_ray_the_ray_backend_fails_at_once_with_the_install_line(tmp_path: Path):
    inputs = write_inputs(tmp_path / "in.jsonl", 3)
    done = python(
        NO_RAY
        + "from fastcrew import ConfigurationError, run_batch\n"
        + "try:\n"
        + f"    run_batch({str(inputs)!r}, crew={CREW!r}, simulate=True, backend='ray')\n"
        + "except ConfigurationError as exc:\n"
        + "    print('ERROR', exc)\n",
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert 'pip install "fastcrew[ray]"' in done.stdout
    assert not (tmp_path / "results.jsonl").exists()  # nothing ran


def test_the_cli_says_the_same_and_exits_2(tmp_path: Path):
    inputs = write_inputs(tmp_path / "in.jsonl", 3)
    done = python(
        NO_RAY
        + "from fastcrew.cli import main\n"
        + f"main(['batch', {str(inputs)!r}, '--crew', {CREW!r}, '--simulate', "
        + "'--backend', 'ray'])\n",
        tmp_path,
    )
    assert done.returncode == 2
    assert 'pip install "fastcrew[ray]"' in done.stderr


def test_the_local_backend_never_imports_ray(tmp_path: Path):
    inputs = write_inputs(tmp_path / "in.jsonl", 20)
    done = python(
        "import sys\n"
        + "from fastcrew import run_batch\n"
        + "import fastcrew.cli, fastcrew.batch.supervisor.supervisor\n"
        + "import fastcrew.batch.supervisor.pool\n"
        + f"r = run_batch({str(inputs)!r}, crew={CREW!r}, simulate=True, workers=1, quiet=True)\n"
        + "print(r.status, 'ray' in sys.modules, r.summary['backend'])\n",
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["complete", "False", "local"]


def test_the_backend_comes_from_the_argument_the_environment_or_pyproject(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FASTCREW_BATCH_BACKEND", raising=False)
    assert _backend(None) == "local"
    (tmp_path / "pyproject.toml").write_text('[tool.fastcrew]\nbackend = "ray"\n')
    assert _backend(None) == "ray"
    monkeypatch.setenv("FASTCREW_BATCH_BACKEND", "local")
    assert _backend(None) == "local"
    assert _backend("ray") == "ray"
    with pytest.raises(ConfigurationError, match="backend must be one of local, ray, got 'dask'"):
        run_batch(write_inputs(tmp_path / "in.jsonl", 1), crew=CREW, backend="dask")
    monkeypatch.setenv("FASTCREW_BATCH_BACKEND", "dask")
    with pytest.raises(ConfigurationError, match=r"backend must be 'local' or 'ray'.*FASTCREW"):
        run_batch(write_inputs(tmp_path / "in.jsonl", 1), crew=CREW)
