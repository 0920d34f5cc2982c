"""Where the per-chunk work runs: in this process, in a local process pool, or on Dask.

The orchestrator streams ingest chunks in one fixed order; an engine runs the same pure
function over each chunk and hands the results back **in that order**, so part ``i`` is always
the ``i``-th chunk whichever engine ran it and the outputs do not depend on the engine.

- :class:`LocalEngine` runs the chunks on a pool of worker processes (one per core by default).
  Each worker receives the fitted model once, when it starts. At most a few chunks are in
  flight, so memory stays bounded however long the input is. A run with a single chunk (or one
  worker) stays in this process and starts no pool.
- :class:`DaskEngine` connects to a running scheduler (``--scheduler tcp://host:8786``) or starts
  a :class:`~distributed.LocalCluster` of two single-threaded worker processes. The model is
  scattered to every worker once (``broadcast=True``); each chunk becomes one task. Workers write
  their Parquet part straight into the run's parts folder when they can see it (same machine or
  a shared file system); otherwise they send the part back and this process writes it.

Nothing here decides *what* is computed: :func:`process_part` calls
:func:`pipeline.run.process_chunk`, the same function the sequential path used. The Dask engine
then also assigns the parts to the night's clusters on its workers (:func:`map_parts` with
:func:`pipeline.cluster.assign_part`, the fitted clustering sent to each worker once, like the
model); the local engine does that pass in this process (see :func:`map_parts` for why).
"""

from __future__ import annotations

import io
import logging
import os
import secrets
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Self

import pandas as pd

from pipeline.config import Config, RunConfig

log = logging.getLogger(__name__)

__all__ = [
    "DaskEngine",
    "LocalEngine",
    "PartOutcome",
    "PartSpec",
    "make_engine",
    "map_parts",
    "part_name",
    "process_part",
    "process_parts",
    "read_part_columns",
]


def part_name(index: int) -> str:
    """File name of the ``index``-th Parquet part (zero-padded, so names sort in chunk order)."""
    return f"part-{index:05d}.parquet"


# -- the per-chunk task --------------------------------------------------------------------


@dataclass(frozen=True)
class PartSpec:
    """Everything a worker needs besides the chunk itself; sent to each worker once."""

    model: Any
    run_id: str
    mask: frozenset[str]
    lang: str
    #: Folder the worker writes its part into; ``None`` sends the Parquet bytes back instead.
    parts_dir: str | None
    sample_limit: int
    seed: int
    #: Rows per ``process_chunk`` call inside a part: bounds a worker's working memory (token
    #: lists and n-gram matrices) whatever the ingest chunk size; results are row-wise, so the
    #: batch size does not change them.
    batch_rows: int = 10_000


@dataclass
class PartOutcome:
    """What comes back from one chunk: small, whatever the chunk size (the part is on disk)."""

    index: int
    n_records: int
    max_day: date | None
    #: The chunk's complaint sample for fitting the clusters (at most ``sample_limit`` rows).
    sample: pd.DataFrame
    #: The part as Parquet bytes when the worker could not write into ``parts_dir``.
    parquet: bytes | None = None


def process_part(job: tuple[int, pd.DataFrame], spec: PartSpec) -> PartOutcome:
    """Normalise and classify one chunk, write it as a Parquet part, return its summary."""
    import pyarrow.parquet as pq

    from pipeline.cluster import terms_column
    from pipeline.run import PART_SCHEMA, _sample_complaints, _to_table, process_chunk

    index, records = job
    step = max(1, spec.batch_rows)
    batches = [
        process_chunk(records.iloc[start : start + step], spec.model, spec.run_id, spec.mask, spec.lang)
        for start in range(0, len(records), step)
    ]
    result = batches[0] if len(batches) == 1 else pd.concat(batches)
    del batches
    days = pd.to_datetime(result["created_at"]).dropna()
    max_day = days.max().date() if len(days) else None
    result["cluster_terms"] = terms_column(result)
    table = _to_table(result, PART_SCHEMA)
    payload = None
    if spec.parts_dir is not None:
        pq.write_table(table, Path(spec.parts_dir) / part_name(index))
    else:
        buffer = io.BytesIO()
        pq.write_table(table, buffer)
        payload = buffer.getvalue()
    sample = _sample_complaints(result, spec.sample_limit, spec.seed)
    return PartOutcome(index, len(result), max_day, sample.reset_index(drop=True), payload)


def process_parts(
    chunks: Iterable[pd.DataFrame],
    model: Any,
    config: Config,
    *,
    run_id: str,
    parts_dir: Path,
    engine: LocalEngine | DaskEngine | None = None,
) -> Iterator[PartOutcome]:
    """Run :func:`process_part` over ``chunks`` on ``engine`` (default: the configured one), in order.

    Parts land in ``parts_dir`` as ``part-00000.parquet``, ``part-00001.parquet``, ... An engine
    is started only when the first chunk arrives, so a dry run or an empty night starts none.
    A given ``engine`` stays open for the caller's next stage; one made here is closed.
    """
    if engine is None:
        with make_engine(config.run) as own:
            yield from process_parts(chunks, model, config, run_id=run_id, parts_dir=parts_dir, engine=own)
        return
    spec = PartSpec(
        model=model,
        run_id=run_id,
        mask=frozenset(config.normalize.mask_pii),
        lang=config.normalize.lang,
        parts_dir=str(parts_dir),
        sample_limit=config.cluster.fit_sample,
        seed=config.cluster.seed,
    )
    jobs = ((i, chunk) for i, chunk in enumerate(chunks))
    for outcome in engine.map(process_part, jobs, spec):
        if outcome.parquet is not None:
            (parts_dir / part_name(outcome.index)).write_bytes(outcome.parquet)
            outcome.parquet = None
        yield outcome


def map_parts(
    engine: LocalEngine | DaskEngine, fn: Callable[[Any, Any], Any], parts: list[Path], shared: Any, *, columns: list[str]
) -> Iterator:
    """Yield ``fn(part, shared)`` for each Parquet part, in order.

    On Dask the calls run on the workers: they open the parts themselves when they see the
    parts folder, otherwise this process reads each part's ``columns`` and sends the frame
    (workers on other machines); ``shared`` reaches each worker once.

    The local engine runs them in this process. Its workers have exited by now, and a new pool
    would start fresh processes that each load the tokenizer, the lemmatizer and ``shared``
    again (about 570 MB each, measured with the clustering of a 1M-record run) for a pass of
    about 0.9 CPU s per 50,000-record part: on the 2-core machine this project is benchmarked
    on, that raised the peak memory of the process tree by a third for no gain in wall time.
    """
    if not parts:
        return iter(())
    if isinstance(engine, LocalEngine):
        return (fn(str(part), shared) for part in parts)
    if engine.can_write(Path(parts[0]).parent):
        items: Iterable = (str(part) for part in parts)
    else:
        log.info("dask workers cannot see %s; parts are sent to them", Path(parts[0]).parent)
        items = (read_part_columns(part, columns) for part in parts)
    return engine.map(fn, items, shared)


def read_part_columns(part: Path | str, columns: list[str]) -> pd.DataFrame:
    """The listed columns of one Parquet part that it has (``cluster_terms`` only exists in
    parts an engine wrote)."""
    import pyarrow.parquet as pq

    present = set(pq.read_schema(part).names)
    return pq.read_table(part, columns=[c for c in columns if c in present]).to_pandas()


def make_engine(config: RunConfig) -> LocalEngine | DaskEngine:
    """The engine ``config.engine`` names (``local`` or ``dask``)."""
    if config.engine == "dask":
        return DaskEngine(scheduler=config.scheduler, workers=config.workers)
    if config.engine == "local":
        if config.scheduler:
            log.warning("run.scheduler %s is ignored by the local engine; pass --engine dask", config.scheduler)
        return LocalEngine(workers=config.workers)
    raise ValueError(f"run.engine must be 'local' or 'dask', got {config.engine!r}")


# -- engines -------------------------------------------------------------------------------

_WORKER_SHARED: Any = None
#: Imported once in the fork server, so every worker process starts with them loaded.
_WORKER_PRELOAD = ("pipeline.engine", "pipeline.run", "pipeline.normalize", "pipeline.classify")


def _init_local_worker(shared: Any) -> None:
    """Pool initializer: keep the shared object (the model) for every task of this worker."""
    global _WORKER_SHARED
    _WORKER_SHARED = shared
    # One process per core already; nested BLAS/OpenMP threads would only oversubscribe.
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)


def _call_local(fn: Callable, item: Any) -> Any:
    return fn(item, _WORKER_SHARED)


def _ordered(submit: Callable[[Any], Any], result: Callable[[Any], Any], items: Iterator, limit: int):
    """Submit ``items`` keeping at most ``limit`` in flight; yield results in submission order."""
    pending: deque = deque()
    for item in items:
        pending.append(submit(item))
        while len(pending) >= limit:
            yield result(pending.popleft())
    while pending:
        yield result(pending.popleft())


class LocalEngine:
    """Run chunks on a pool of worker processes on this machine.

    Parameters
    ----------
    workers : int, default 0
        Number of worker processes; 0 means one per available core.
    max_pending : int or None
        Chunks in flight at once (submitted, not yet handed back); default ``workers + 1``,
        which keeps every worker busy while the next chunk is read.

    Examples
    --------
    >>> with LocalEngine(workers=1) as engine:
    ...     list(engine.map(divmod, [7, 9], 4))
    [(1, 3), (2, 1)]
    """

    name = "local"

    def __init__(self, *, workers: int = 0, max_pending: int | None = None) -> None:
        self.workers = workers
        self.max_pending = max_pending
        self._pool = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def n_workers(self) -> int:
        return self.workers if self.workers > 0 else _available_cores()

    def map(self, fn: Callable[[Any, Any], Any], items: Iterable, shared: Any) -> Iterator:
        """Yield ``fn(item, shared)`` for each item, in order; ``shared`` reaches each worker once."""
        items = iter(items)
        first = next(items, _END)
        if first is _END:
            return
        second = next(items, _END)
        n = self.n_workers()
        if second is _END or n <= 1:
            # One chunk, or one worker: a pool would only add its start-up time.
            yield fn(first, shared)
            if second is not _END:
                yield fn(second, shared)
                for item in items:
                    yield fn(item, shared)
            return
        from concurrent.futures import ProcessPoolExecutor
        from concurrent.futures.process import BrokenProcessPool
        from multiprocessing import get_context

        log.info("local engine: %d worker processes", n)
        # forkserver, not fork: this process already runs threads (DuckDB, Arrow). The server
        # preloads the pipeline (so workers start warm) instead of re-running ``__main__``,
        # which would re-execute a caller's unguarded script.
        context = get_context("forkserver")
        context.set_forkserver_preload(list(_WORKER_PRELOAD))
        self._pool = ProcessPoolExecutor(
            max_workers=n,
            mp_context=context,
            initializer=_init_local_worker,
            initargs=(shared,),
        )

        def result(future):
            try:
                return future.result()
            except BrokenProcessPool as exc:
                raise RuntimeError(
                    "a worker process of the local engine died (out of memory?); "
                    "lower ingest.chunk_size or run.workers"
                ) from exc

        def chained():
            yield first
            yield second
            yield from items

        limit = self.max_pending or n + 1
        yield from _ordered(lambda item: self._pool.submit(_call_local, fn, item), result, chained(), limit)
        self.close()

    def can_write(self, path: Path) -> bool:
        return True

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


class DaskEngine:
    """Run chunks as tasks on a Dask cluster.

    Parameters
    ----------
    scheduler : str or None
        Address of a running scheduler (``tcp://host:8786``); ``None`` starts a
        :class:`~distributed.LocalCluster` for the duration of the run.
    workers : int, default 0
        Worker processes of the local cluster (0 means 2); ignored with ``scheduler``.
    max_pending : int or None
        Tasks in flight at once; default twice the number of worker threads.
    timeout : str, default "30s"
        How long to try to reach ``scheduler`` before giving up.
    """

    name = "dask"

    def __init__(
        self,
        *,
        scheduler: str | None = None,
        workers: int = 0,
        max_pending: int | None = None,
        timeout: str = "30s",
    ) -> None:
        self.scheduler = scheduler
        self.workers = workers
        self.max_pending = max_pending
        self.timeout = timeout
        self._client = None
        self._cluster = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def client(self):
        """The ``distributed.Client``, connected on first use."""
        if self._client is None:
            try:
                from distributed import Client, LocalCluster
            except ImportError as exc:  # pragma: no cover - distributed is a dependency
                raise RuntimeError("the dask engine needs 'distributed': pip install 'distributed'") from exc
            if self.scheduler:
                log.info("dask engine: connecting to %s", self.scheduler)
                try:
                    self._client = Client(self.scheduler, timeout=self.timeout)
                except (OSError, TimeoutError) as exc:
                    raise RuntimeError(
                        f"cannot reach the Dask scheduler at {self.scheduler}: {exc}. "
                        "Start one with `dask scheduler` and workers with `dask worker ADDRESS`, "
                        "or drop --scheduler to use a local cluster."
                    ) from exc
            else:
                n = self.workers if self.workers > 0 else 2
                log.info("dask engine: starting a local cluster of %d workers", n)
                self._cluster = LocalCluster(
                    n_workers=n,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                    worker_dashboard_address=None,
                )
                self._client = Client(self._cluster)
        return self._client

    def map(self, fn: Callable[[Any, Any], Any], items: Iterable, shared: Any) -> Iterator:
        """Yield ``fn(item, shared)`` for each item, in order; ``shared`` is broadcast once."""
        items = iter(items)
        first = next(items, _END)
        if first is _END:
            return
        client = self.client()
        parts_dir = shared.parts_dir if isinstance(shared, PartSpec) else None
        if parts_dir is not None and not self.can_write(Path(parts_dir)):
            log.info("dask workers cannot see %s; parts come back to the client", parts_dir)
            shared = _replace_parts_dir(shared, None)
        shared_future = client.scatter(shared, broadcast=True, hash=False)
        limit = self.max_pending or 2 * (sum(client.nthreads().values()) or 1)
        inflight: list[tuple[Any, str]] = []

        def submit(item):
            # Send the chunk straight to the worker with the least unfinished work per thread.
            # (A one-item scatter without a target always lands on the same worker.)
            nthreads = client.nthreads()
            inflight[:] = [(f, w) for f, w in inflight if not f.done()]
            busy = {w: 0 for w in nthreads}
            for _, w in inflight:
                if w in busy:
                    busy[w] += 1
            worker = min(busy, key=lambda w: (busy[w] / max(1, nthreads[w]), w))
            (item_future,) = client.scatter([item], workers=[worker], hash=False)
            future = client.submit(
                fn, item_future, shared_future, pure=False, workers=[worker], allow_other_workers=True
            )
            inflight.append((future, worker))
            return future

        def chained():
            yield first
            yield from items

        try:
            yield from _ordered(submit, lambda future: future.result(), chained(), limit)
        finally:
            client.cancel([shared_future])

    def can_write(self, path: Path) -> bool:
        """Whether every worker sees ``path`` (same machine or a shared file system)."""
        client = self.client()
        probe = Path(path) / f".engine-probe-{secrets.token_hex(8)}"
        probe.write_bytes(b"")
        try:
            seen = client.run(_probe_exists, str(probe))
        finally:
            probe.unlink(missing_ok=True)
        return bool(seen) and all(seen.values())

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None


def _probe_exists(path: str) -> bool:
    return os.path.exists(path) and os.access(os.path.dirname(path), os.W_OK)


def _replace_parts_dir(spec: PartSpec, parts_dir: str | None) -> PartSpec:
    from dataclasses import replace

    return replace(spec, parts_dir=parts_dir)


def _available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


_END = object()
