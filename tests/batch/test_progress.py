"""Progress output: the rich bar (forced on a non-terminal stream) and the plain lines."""

from __future__ import annotations

import io

from fastcrew.batch.progress import Progress, Snapshot
from fastcrew.batch.summary import format_summary

SNAP = Snapshot(done=5, ok=4, error=1, in_flight=3, tokens=12_345, rate_limited=2, elapsed_s=2.0)


def test_rich_bar():
    stream = io.StringIO()
    progress = Progress(10, enabled=True, stream=stream)
    progress.start()
    progress.update(SNAP)
    progress.log("a message above the bar")
    progress.close()
    text = stream.getvalue()
    assert "fastcrew batch" in text
    assert "a message above the bar" in text
    assert "ok 4 error 1 tokens 12.3k 429s 2" in text


def test_plain_lines_when_not_a_terminal():
    stream = io.StringIO()
    progress = Progress(10, stream=stream, log_every=3600)
    progress.start()
    progress.update(SNAP)  # too soon for a line
    assert stream.getvalue() == ""
    progress.update(SNAP, force=True)
    line = stream.getvalue()
    assert "5/10 rows, 2.5 rows/s, ok 4, error 1, in flight 3, tokens 12.3k, 429s 2" in line
    assert "eta 2 s" in line
    quiet = io.StringIO()
    Progress(10, stream=quiet, quiet=True).update(SNAP, force=True)
    assert quiet.getvalue() == ""


def test_summary_text():
    summary = {
        "status": "interrupted",
        "exit_code": 75,
        "resumable": True,
        "output": "out.jsonl",
        "rows": {"ok": 4, "error": 1, "written": 5, "total": 10},
        "this_run": {
            "rows": 5,
            "elapsed_s": 2.0,
            "rows_per_s": 2.5,
            "llm_calls": 6,
            "tokens": 100,
            "rate_limited_429": 0,
            "retries": 1,
        },
        "rate_limit": {"rpm": 600, "tpm": None, "requests_share": 0.3, "tokens_share": None},
        "stop_message": None,
    }
    text = format_summary(summary)
    assert "fastcrew batch interrupted (exit code 75): out.jsonl" in text
    assert "requests 30.0 % of 600 rpm" in text
    assert "resumable: run the same command again" in text
