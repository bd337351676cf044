"""Run a function over many inputs on every core, for the drawing that training needs."""

import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context


class WorkerFailed(RuntimeError):
    """A worker process died (it could not start, or was killed) instead of returning."""


def starmap(function, jobs: list[tuple], what: str, chunksize: int = 256) -> list:
    """[function(*job) for job in jobs], in worker processes on all cores.

    Spawned, not forked: TensorFlow's threads do not survive a fork. A ProcessPoolExecutor,
    not a multiprocessing.Pool: when a worker dies, the Pool quietly starts another and waits
    for ever, where the executor stops at once with BrokenProcessPool. An exception raised by
    `function` reaches the caller as it is."""
    with ProcessPoolExecutor(os.cpu_count(), mp_context=get_context("spawn")) as pool:
        try:
            return list(pool.map(function, *zip(*jobs, strict=True), chunksize=chunksize))
        except BrokenProcessPool as exc:
            raise WorkerFailed(
                f"a worker process died while {what}: {exc}. Run the command from a script "
                'file guarded by `if __name__ == "__main__":` or with `python -m mnistdraw`.'
            ) from exc
