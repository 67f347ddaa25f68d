"""BLAS threads: how many numpy's linear algebra uses, and limiting them for a block of code.

float32 matrix products reduce in an order that depends on the number of BLAS
threads, so two runs are bit-identical only at equal thread counts. Training
checkpoints record the count (:func:`blas_threads`); a resume under another
count says that it will not be bit-identical to an uninterrupted run.
"""

from __future__ import annotations

import contextlib


def blas_threads():
    """The largest number of threads any loaded BLAS/OpenMP pool may use in this process.

    Examples
    --------
    >>> blas_threads() >= 1
    True
    """
    from threadpoolctl import threadpool_info

    return max((pool["num_threads"] for pool in threadpool_info()), default=1)


@contextlib.contextmanager
def blas_limit(n_threads):
    """Limit BLAS/OpenMP pools to ``n_threads`` inside the block (``None``: leave as is).

    Examples
    --------
    >>> with blas_limit(1):
    ...     blas_threads()
    1
    """
    if n_threads is None:
        yield
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=int(n_threads)):
        yield
