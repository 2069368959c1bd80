"""One process budget, first come first served, across the runtime's home loop (where sync
``kickoff()`` / ``LLM.call()`` run) and a caller's own loop (``akickoff()``)."""

from __future__ import annotations

import asyncio
import random
import threading
import time

from fastcrew.limits import Limiter, RateLimit
from fastcrew.process_runtime import Runtime


async def test_sync_calls_flooding_the_home_loop_do_not_starve_an_async_call():
    # 1,000 tokens/s, a quarter-second bucket. Eight callers on the home loop keep asking for
    # 1-10 tokens; then this loop asks for 200. Before, it waited for 200 tokens to pile up
    # while the home loop's queue took each as it came (> 5 s in the issue; here the test's
    # 2 s timeout). In arrival order it waits for the home loop's queued calls and its own
    # 200 tokens: about a quarter of a second.
    runtime = Runtime()  # a home loop of its own (a uvloop thread), as the process's has
    limit = RateLimit(rpm=None, tpm=60_000, burst=0.25)
    key = "fair-budget-test"
    stop = threading.Event()
    home: list[Limiter] = []
    busy = threading.Event()

    async def flood() -> None:
        limiter = runtime.limiter(key, limit)
        home.append(limiter)
        rng = random.Random(3)

        async def caller() -> None:
            while not stop.is_set():
                tokens = rng.randint(1, 10)
                lease = await limiter.acquire(tokens)
                lease.settle(tokens)
                if limiter.stats.waited >= 50:
                    busy.set()  # the home loop's queue is busy
                await asyncio.sleep(0)

        await asyncio.gather(*(caller() for _ in range(8)))

    thread = threading.Thread(target=runtime.run, args=(flood(),), daemon=True)
    thread.start()
    try:
        assert await asyncio.to_thread(busy.wait, 5)
        mine = runtime.limiter(key, limit)
        assert mine is not home[0]
        assert mine.source is home[0].source
        started = time.monotonic()
        lease = await asyncio.wait_for(mine.acquire(200), 2.0)
        waited = time.monotonic() - started
        lease.settle(200)
        admitted = home[0].stats.admitted
        await asyncio.sleep(0.1)
        assert home[0].stats.admitted > admitted  # and the home loop carries on
    finally:
        stop.set()
        thread.join(5)
        runtime.close()
    assert waited < 1.0, f"the 200-token call waited {waited:.2f} s"
