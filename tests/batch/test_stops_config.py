"""Start-up refusals of ``fastcrew batch`` / ``run_batch`` (issue 20 §5, §8): before any
worker starts, with a message that says what to do and shows no secret."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from pathlib import Path

import pytest

from fastcrew import run_batch
from fastcrew.errors import RunningLoopError

from .helpers import CREW, batch_cmd, write_inputs


@pytest.mark.parametrize("where", ["--base-url", "OPENAI_BASE_URL", "FASTCREW_BATCH_BASE_URL"])
def test_a_base_url_with_credentials_is_refused_at_start_up(tmp_path: Path, where: str):
    """Was: every row an HTTP library's ValueError. Now exit 2 at once, password unseen."""
    inputs = write_inputs(tmp_path / "in.jsonl", 20)
    out = tmp_path / "out.jsonl"
    url = "https://alice:s3cr3t-pw@llm.example.com:8443/v1"
    cmd = batch_cmd(inputs, out, url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    if where != "--base-url":
        del cmd[cmd.index("--base-url") : cmd.index("--base-url") + 2]
        env[where] = url
    started = time.monotonic()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 2, done.stderr
    shown = "--base-url" if where == "FASTCREW_BATCH_BASE_URL" else where.lstrip("-")
    assert shown in done.stderr
    assert "must not hold credentials (user:password@ before https://llm.example.com:8443)" in (
        done.stderr
    )
    assert "--api-key" in done.stderr
    assert "s3cr3t-pw" not in done.stderr
    assert "alice" not in done.stderr
    assert "Traceback" not in done.stderr
    assert time.monotonic() - started < 10.0
    assert not out.exists()
    assert not Path(f"{out}.journal").exists()


def test_run_batch_inside_a_running_loop_is_a_running_loop_error(tmp_path: Path):
    """As every other sync API (was: ConfigurationError)."""
    inputs = write_inputs(tmp_path / "in.jsonl", 1)

    async def inside() -> None:
        run_batch(inputs, crew=CREW, output=str(tmp_path / "out.jsonl"))

    with pytest.raises(RunningLoopError, match=r"asyncio\.to_thread"):
        asyncio.run(inside())
    assert not (tmp_path / "out.jsonl").exists()
