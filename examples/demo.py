"""The README demo: the research crew over examples/inputs.jsonl on the built-in simulator.

Starts ``fastcrew sim`` on a free loopback port, runs ``akickoff_for_each`` over the sample
rows, and prints one JSON line per input, in input order. Every answer is SIMULATED.
(When ``fastcrew batch`` lands, this becomes ``fastcrew batch examples/inputs.jsonl
--simulate``.)
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from research_crew import make_crew

from fastcrew import LLM
from fastcrew._loop import run
from fastcrew.sim import serve

INPUTS = Path(__file__).with_name("inputs.jsonl")
BANNER = "*** SIMULATED: answers come from the built-in `fastcrew sim`, not a real LLM ***"


async def main(rows: list[dict[str, object]]) -> None:
    async with serve(latency_ms=300, jitter_ms=50, seed=1) as sim:
        print(BANNER, file=sys.stderr)
        crew = make_crew(LLM("sim-model", base_url=sim.base_url))
        started = time.perf_counter()
        outputs = await crew.akickoff_for_each(rows, max_concurrency=100)
        elapsed = time.perf_counter() - started
        stats = sim.stats()
    for index, (row, out) in enumerate(zip(rows, outputs, strict=True)):
        line = {
            "index": index,
            "id": row.get("id"),
            "status": "ok",
            "output": out.json_dict or out.raw,
            "usage": out.token_usage.model_dump(),
            "simulated": True,
        }
        print(json.dumps(line))
    print(
        f"{len(rows)} crews ({stats['requests_total']} LLM calls, 300 ms simulated latency each) "
        f"in {elapsed:.2f} s; peak {stats['peak_in_flight']} calls in flight.",
        file=sys.stderr,
    )
    print(BANNER, file=sys.stderr)


if __name__ == "__main__":
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else INPUTS
    run(main([json.loads(line) for line in path.read_text().splitlines() if line.strip()]))
