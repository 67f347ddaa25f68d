"""Adam and gradient-norm clipping over a dict of named arrays."""

from __future__ import annotations

import math

import numpy as np

from ..errors import BrianModesError


def global_norm(grads):
    """Euclidean norm of all gradients together."""
    return math.sqrt(sum(float(np.vdot(g, g)) for g in grads.values()))


def clip_by_global_norm(grads, max_norm):
    """Scale all gradients by one factor so that their global norm is at most ``max_norm``.

    Returns
    -------
    norm : float
        The norm before clipping.
    """
    norm = global_norm(grads)
    if max_norm is not None and norm > max_norm:
        scale = max_norm / norm
        for g in grads.values():
            g *= scale
    return norm


class Adam:
    """Adam (Kingma & Ba 2015) with PyTorch's defaults: lr 1e-3, betas (0.9, 0.999), eps 1e-8.

    Parameters
    ----------
    lr : float
    betas : tuple of float
    eps : float

    Examples
    --------
    >>> import numpy as np
    >>> params = {"w": np.array([1.0])}
    >>> opt = Adam(lr=0.1)
    >>> opt.step(params, {"w": np.array([2.0])})
    >>> params["w"]
    array([0.9])
    """

    def __init__(self, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        if not (lr > 0 and 0 <= betas[0] < 1 and 0 <= betas[1] < 1 and eps > 0):
            raise BrianModesError(f"invalid Adam settings lr={lr!r}, betas={betas!r}, eps={eps!r}")
        self.lr, self.betas, self.eps = float(lr), tuple(map(float, betas)), float(eps)
        self.t = 0
        self.m = {}
        self.v = {}

    def step(self, params, grads):
        """Update ``params`` in place from ``grads`` (same keys)."""
        self.t += 1
        b1, b2 = self.betas
        bias1, bias2 = 1 - b1 ** self.t, 1 - b2 ** self.t
        step_size = self.lr / bias1
        for name, g in grads.items():
            p = params[name]
            m = self.m.setdefault(name, np.zeros_like(p))
            v = self.v.setdefault(name, np.zeros_like(p))
            g = np.asarray(g)
            if g.shape != p.shape or m.shape != p.shape or v.shape != p.shape:
                raise BrianModesError(f"Adam: gradient {name!r} has shape {g.shape}, the parameter {p.shape} "
                                      f"(moments {m.shape})")
            # the update p -= lr/bias1 * m / (sqrt(v / bias2) + eps) in place, in two scratch arrays: the same
            # operations in the same order as the plain expressions (bitwise the same), without their temporaries
            work = np.empty(p.shape, np.result_type(g, m))
            denom = np.empty_like(v)
            m *= b1
            m += np.multiply(g, 1 - b1, out=work)
            v *= b2
            np.multiply(g, 1 - b2, out=work)
            work *= g
            v += work
            np.divide(v, bias2, out=denom)
            np.sqrt(denom, out=denom)
            denom += self.eps
            np.multiply(m, step_size, out=work)
            work /= denom
            p -= work

    def state_arrays(self):
        """Moments as a flat dict of arrays (for checkpoints)."""
        out = {f"adam_m/{k}": a for k, a in self.m.items()}
        out.update({f"adam_v/{k}": a for k, a in self.v.items()})
        return out

    def load_state(self, t, arrays):
        """Restore from :meth:`state_arrays` output and the step count ``t``."""
        self.t = int(t)
        self.m = {k.split("/", 1)[1]: np.array(a) for k, a in arrays.items() if k.startswith("adam_m/")}
        self.v = {k.split("/", 1)[1]: np.array(a) for k, a in arrays.items() if k.startswith("adam_v/")}
