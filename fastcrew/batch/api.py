"""``fastcrew.run_batch``: the Python API behind ``fastcrew batch``."""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import os
import time
from typing import Any

from .._loop import run
from .._options import declared
from ..errors import LLMConfigurationError, RunningLoopError, StorageError
from .cached import check_cache
from .config import BatchConfig, BatchResult, WorkerConfig
from .defaults import resolve
from .progress import Progress, Snapshot
from .run_result import run_result, unwritable_result
from .signals import StopSignals
from .spending import previous_cost, progress_cost
from .storage.inputs import LineReader, input_identity, open_input
from .storage.lock import OutputLock
from .storage.output import storage_error
from .storage.plan import Plan, make_plan
from .summary import format_summary, write_summary
from .supervisor.pool import ProcessPool
from .supervisor.supervisor import Supervisor
from .supervisor.worker_process import EarlyWorkers

__all__ = ["SIMULATED_BANNER", "run_batch"]

SIMULATED_BANNER = (
    "*** SIMULATED: answers come from the built-in `fastcrew sim`, not a real LLM ***"
)
_NO_LLM = (
    "no LLM is configured: {detail}\n"
    "Configure one of:\n"
    "  --simulate                     the built-in simulator (answers are simulated)\n"
    "  --base-url URL                 any OpenAI-compatible server (or $OPENAI_BASE_URL)\n"
    "  --api-key KEY / $OPENAI_API_KEY  for OpenAI (model from --model / $MODEL)\n"
    "  --model ollama/<name>          a local Ollama (no key needed)\n"
    "  or build the crew's agents with LLM(base_url=..., api_key=...)"
)


def run_batch(inputs: str | os.PathLike[str] | BatchConfig, **options: Any) -> BatchResult:
    """Run a crew (or a flow) once per input line across worker processes; results in order.

    ``options`` are the fields of :class:`BatchConfig` (one declaration for this function,
    its checks and ``fastcrew batch``'s flags; docs/cli.md has each one); or pass a
    ``BatchConfig`` itself, with ``options`` overriding its fields. The main ones:

    ``inputs``: a JSONL file, ``"-"`` for stdin, or a ``.jsonl.gz``. Each line is a kickoff's
    inputs (an ``id`` field is carried to the output) or an OpenAI Batch-API request.
    ``crew``: ``"path/file.py:name"``, ``"package.module:name"`` or an importable zero-argument
    callable, returning a Crew (default: ``$FASTCREW_CREW`` or ``[tool.fastcrew] crew`` in
    ./pyproject.toml; not needed when every line is an OpenAI batch request).
    ``flow``: instead of a crew, ``"path/file.py:FlowClass"`` (or ``"module:FlowClass"``, or
    an importable Flow class): one fresh flow per row, ``akickoff(inputs=row)``; the row's
    ``output`` is ``{"result", "state"}`` (default: ``$FASTCREW_FLOW`` or ``[tool.fastcrew]
    flow``). ``crew`` and ``flow`` exclude each other.
    ``output`` gets one line per input row, in order, with ``<output>.journal`` beside it;
    re-running resumes (``restart=True`` starts over, ``resume=True`` insists on resuming,
    ``retry_failed=True`` re-runs the error rows of a finished output).
    ``rpm`` / ``tpm`` (``itpm`` / ``otpm``: Anthropic's input and output tokens per
    minute): one budget shared by all ``workers`` (0, the default: one per CPU),
    each running up to ``concurrency`` rows at once. ``simulate``: True, a ``SimConfig`` or
    a dict of its options, to run against the built-in simulator (answers are simulated).
    ``timeout``: seconds per row (a longer row becomes an error row), also the bound on
    finishing in-flight rows after the first SIGINT/SIGTERM.
    ``backend``: ``"local"`` worker processes (the default) or ``"ray"`` actors on a Ray
    cluster at ``ray_address`` (default: ``$FASTCREW_BATCH_BACKEND``, else ``[tool.fastcrew]
    backend``; see docs/ray.md); with Ray, ``workers`` defaults to the cluster's CPUs and
    ``ray_runtime_env`` (e.g. ``{"working_dir": "."}``) ships the crew's code to the nodes.

    Returns a :class:`BatchResult` (status, exit code, counts, summary); raises
    :class:`~fastcrew.ConfigurationError` when the run cannot start (nothing ran).
    See docs/cli.md and docs/output.md.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        raise RunningLoopError(
            "run_batch() starts processes and runs its own event loop: call it from "
            "synchronous code (or in a thread: `await asyncio.to_thread(run_batch, ...)`)"
        )
    unknown = sorted(set(options) - _OPTION_NAMES)
    if unknown:
        raise TypeError(
            f"run_batch() got unknown options {', '.join(unknown)}; "
            f"it takes {', '.join(sorted(_OPTION_NAMES))}"
        )
    if isinstance(inputs, BatchConfig):
        config = dataclasses.replace(inputs, **options)
    else:
        config = BatchConfig(inputs=inputs, **options)  # type: ignore[arg-type]
    config = resolve(config)
    if config.estimate is not None:
        from .estimate import run_estimate

        return run_estimate(config, lambda c: _Run(c).execute())
    return _Run(config).execute()


_OPTION_NAMES = frozenset(f.name for f in dataclasses.fields(BatchConfig)) - {"inputs"}
run_batch.__signature__ = inspect.Signature(  # type: ignore[attr-defined]  # help() lists them
    [inspect.Parameter("inputs", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    + [
        inspect.Parameter(d.name, inspect.Parameter.KEYWORD_ONLY, default=d.default)
        for d in declared(BatchConfig)
        if d.name != "inputs"
    ]
)


class _Run:
    """One call of run_batch: plan, simulator, supervisor, summary."""

    def __init__(self, config: BatchConfig) -> None:
        self.config = config
        self.progress = Progress(None, enabled=config.progress, quiet=config.quiet)
        self.started = time.monotonic()
        self.backend: Any = None
        """The Ray backend (session, pool) for ``backend="ray"``."""
        self.signals: StopSignals | None = None
        self.early: EarlyWorkers | None = None
        """Local workers started before the plan (their imports overlap the input's hash)."""
        self.prior_cost = 0.0
        """What earlier runs on this output spent (their summaries' ``cost.all_runs_usd``)."""

    def log(self, message: str) -> None:
        self.progress.log(message)

    def execute(self) -> BatchResult:
        if self.config.cache is not None:  # a damaged cache: CacheFileError, nothing ran
            check_cache(self.config.cache)
        # Ctrl-C / SIGTERM at any moment of the call end the documented way (exit 75).
        with StopSignals() as self.signals:
            if self.config.backend == "local":
                self.early = EarlyWorkers(self.config.workers)
            try:
                with OutputLock(self.config.output):  # one run per output, before any file
                    return self._execute()
            except StorageError as exc:  # the files cannot be created: nothing ran
                return self._unwritable(exc)
            finally:
                if self.early is not None:
                    self.early.close()

    def _unwritable(self, exc: StorageError) -> BatchResult:
        """The output's directory or files cannot be written before the run starts: say
        so and end as ``storage_error`` (exit 74); no summary (it could not be written)."""
        message = f"{exc}; nothing ran (resumable once the cause is fixed)"
        self.log(message)
        return unwritable_result(self.config, message)

    def _execute(self) -> BatchResult:
        config = self.config
        identity = input_identity(config.inputs)
        plan = make_plan(config, identity)
        if plan.kind != "fresh":
            self.prior_cost = previous_cost(config.summary_path)
        for note in plan.notes:
            self.log(note)
        if plan.kind == "complete":
            self.log(f"{config.output} is already complete: nothing to do")
            return self._result(plan, None, "complete")
        sim = None
        supervisor: Supervisor | None = None
        try:
            if config.backend == "ray":
                from .ray import load

                self.backend = load()(config)
                config = self.config = self.backend.config  # workers resolved
            if config.simulate is not None:
                from ..sim import spawn

                self.log(SIMULATED_BANNER)
                sim = spawn(config.simulate)
            supervisor = self._supervisor(plan, sim)
            self.progress.total = plan.total_rows
            self.progress.start()
            try:
                run(supervisor.run(), loop=config.loop)
            finally:
                self.progress.update(self._snapshot(supervisor), force=True)
                self.progress.close()
                supervisor.reader.close()
        except BaseException as exc:
            plan.close()
            untouched = supervisor is None or not supervisor.dispatcher.dispatched
            if plan.kind == "fresh" and untouched:
                for path in (config.output, config.journal_path):
                    if os.path.exists(path):
                        os.remove(path)
            if isinstance(exc, LLMConfigurationError):  # no key / base URL: say how to configure
                raise LLMConfigurationError(_NO_LLM.format(detail=str(exc))) from None
            raise
        finally:
            if sim is not None:
                sim.close()
            if self.backend is not None:
                self.backend.close()
        assert supervisor is not None
        try:
            plan.finish(supervisor.complete)
        except OSError as exc:
            failed = storage_error(exc.filename or config.output, exc, "finish")
            supervisor.stop_reason = "storage_error"
            supervisor.stop_message = f"{failed}; stopped (resumable once the cause is fixed)"
            self.log(supervisor.stop_message)
        status = "complete" if supervisor.complete else supervisor.stop_reason or "interrupted"
        result = self._result(plan, supervisor, status)
        if sim is not None:
            self.log(SIMULATED_BANNER)
        return result

    def _supervisor(self, plan: Plan, sim: Any) -> Supervisor:
        config = self.config
        base_url = sim.base_url if sim is not None else config.base_url
        assert not isinstance(config.flow, type)  # resolve() made it a spec
        worker_config = WorkerConfig(
            crew=config.crew,
            flow=config.flow,
            flow_store=config.flows_path if config.flow is not None else None,
            concurrency=config.concurrency,
            chunk_size=config.chunk_size,
            loop=config.loop,
            rpm=config.rpm,
            tpm=config.tpm,
            itpm=config.itpm,
            otpm=config.otpm,
            model=config.model,
            base_url=base_url,
            api_key=config.api_key,
            simulated=sim is not None,
            timeout=config.timeout,
            max_line_bytes=config.max_line_bytes,
            prices=config.prices or (),
            cache=config.cache,
            via=config.via,
            supervisor_timeout=2 * config.ping_timeout,
        )
        reader = LineReader(open_input(config.inputs), max_line_bytes=config.max_line_bytes)
        assert plan.writer is not None
        assert plan.journal is not None
        if self.backend is not None:
            pool = self.backend.pool(worker_config)
        else:
            assert self.early is not None  # the local backend starts its workers early
            pool = ProcessPool.for_run(config, worker_config, launcher=self.early)
        assert self.signals is not None
        supervisor = Supervisor(
            config,
            pool=pool,
            signals=self.signals,
            reader=reader,
            writer=plan.writer,
            journal=plan.journal,
            skip=plan.skip,
            attempts=plan.attempts,
            verify=plan.verify,
            on_tick=lambda s: self.progress.update(self._snapshot(s)),
            log=self.log,
            output_path=config.tmp_path if plan.kind == "rewrite" else config.output,
            base_url=base_url,
        )
        what = {
            "fresh": "starting",
            "continue": f"resuming ({plan.resumed_rows:,} rows already done)",
            "rewrite": f"rewriting the finished output ({plan.rerun:,} error rows re-run)",
        }[plan.kind]
        self.log(
            f"fastcrew batch: {config.inputs} → {config.output}, {what}; {config.workers} "
            f"workers x {config.concurrency} rows, reorder window {config.reorder_window:,} rows"
        )
        return supervisor

    def _snapshot(self, s: Supervisor) -> Snapshot:
        c = s.counters
        done = c.rows_ok + c.rows_error + s.dispatcher.skipped
        return Snapshot(
            done=done,
            ok=c.rows_ok,
            error=c.rows_error,
            in_flight=s.rows_in_flight(),
            tokens=c.tokens,
            rate_limited=c.worker_total("rate_limited"),
            elapsed_s=time.monotonic() - c.started,
            extra=s.deferred.line() if s.deferred is not None else "",
            cost=progress_cost(s.spend, c.rows_ok + c.rows_error, self.progress.total, done),
        )

    def _result(self, plan: Plan, s: Supervisor | None, status: str) -> BatchResult:
        """The run's result; its summary written beside the output and logged."""
        config = self.config
        elapsed = time.monotonic() - self.started
        result = run_result(
            config,
            plan,
            s,
            status,
            elapsed_s=elapsed,
            prior_cost=self.prior_cost,
            backend=self.backend,
        )
        try:
            write_summary(config.summary_path, result.summary)
        except OSError as exc:  # the summary is also on stderr; the status says what broke
            self.log(str(storage_error(config.summary_path, exc)))
        self.log(format_summary(result.summary))
        return result
