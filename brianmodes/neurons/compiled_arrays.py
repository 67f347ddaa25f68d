"""Arrays of the compiled loop's calls: aligned and padded buffers, the trial slots, the loss's seed scale.

Split from :mod:`~brianmodes.neurons.compiled` (no module over ~500 lines);
the names stay importable from there.
"""

from __future__ import annotations

import numpy as np

from ..train import losses as _losses

MAX_SLOTS = 8  # trials are split into at most this many slots of consecutive trials (never by thread count)
SLOT_BYTES = 256 << 20  # fewer slots (but at least 2) when their gradient rows would take more memory
#: Arguments of ``bm_run`` after those of ``compiled_layout``: the slot count, the sums over the slots.
EXTRA_INTEGERS = ("slots",)
EXTRA_POINTERS = ("g64_out", "gr_out")


def slot_count(B, row_bytes=0):
    """The number of gradient slots for ``B`` trials whose gradient rows take ``row_bytes`` each.

    A function of the problem's sizes alone, never of the thread count, so that
    every result is the same for any thread count: min(B, 8), fewer when the
    slots' rows would take more than 256 MB (a large dense W), but at least 2.

    Examples
    --------
    >>> slot_count(3), slot_count(100), slot_count(100, 10**8)
    (3, 8, 2)
    """
    n = min(MAX_SLOTS, max(2, SLOT_BYTES // max(int(row_bytes), 1)))
    return max(1, min(int(B), n))


def aligned_empty(shape, dtype, fill=None):
    """A C-contiguous array whose data starts on a 64-byte boundary (whole-vector loads never split lines).

    Examples
    --------
    >>> aligned_empty((3, 16), np.float32, 0).ctypes.data % 64
    0
    """
    dtype = np.dtype(dtype)
    n = int(np.prod(shape)) * dtype.itemsize
    raw = np.empty(n + 64, np.uint8)
    start = (-raw.ctypes.data) % 64
    out = raw[start:start + n].view(dtype).reshape(shape)
    if fill is not None:
        out.fill(fill)
    return out


def _padded(a, Np, rows=None):
    """``a`` (r, N) as an aligned (rows or r, Np) array, zeros beyond it."""
    out = aligned_empty((a.shape[0] if rows is None else rows, Np), a.dtype, 0)
    out[:a.shape[0], :a.shape[1]] = a
    return out


def _cut(a, dims):
    return None if a is None else np.ascontiguousarray(a[:, :dims["N"]])


def _error_scale(fn, loss, shape, mask):
    """``c`` with ``dL/dy == c * mask * (y - target)`` (the loop's seed) for the per-step losses, from their definitions.

    Examples
    --------
    >>> from brianmodes.train import losses
    >>> _error_scale(losses.root_sse, 4.0, (2, 3, 1), None), _error_scale(losses.mse, 1.0, (2, 3, 1), None)
    (0.25, 0.3333333333333333)
    """
    if fn is _losses.sse:
        return 1.0
    if fn is _losses.root_sse:
        return 0.0 if loss == 0.0 else 1.0 / loss
    n = float(np.prod(shape)) if mask is None else float(np.sum(np.broadcast_to(mask, shape)))
    return 2.0 / max(n, 1.0)  # mse


def _seed_scale(gy, seed, dtype):
    """``c`` with ``gy == c * seed`` to rounding, or None when numpy's gradient is not such a multiple."""
    if gy.shape != seed.shape:
        return None
    # plain numpy sums: a BLAS dot here wakes OpenBLAS's threads (8 ms on a busy 2-core machine)
    ss = float(np.sum(seed * seed))
    top = float(np.max(np.abs(gy))) if gy.size else 0.0
    if ss == 0.0:
        return 0.0 if top == 0.0 else None
    c = float(np.sum(gy * seed)) / ss
    tol = (1e-4 if dtype == np.float32 else 1e-9) * max(top, 1e-300)
    return c if float(np.max(np.abs(gy - c * seed))) <= tol else None
