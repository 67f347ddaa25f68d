"""Losses: each returns the loss value and its gradient with respect to the outputs.

Classification outputs are logits ``(B, K)`` with integer labels ``(B,)``;
regression outputs are ``(T, B, K)`` with targets of the same shape and an
optional 0/1 mask of the same shape (or broadcastable) saying which entries
count.
"""

from __future__ import annotations

import numpy as np

from ..checks import choice


def softmax(z):
    """Row-wise softmax, stable for large logits."""
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def cross_entropy(logits, labels, mask=None):
    """Mean cross-entropy of a single softmax over the batch.

    Returns
    -------
    loss : float
    grad : ndarray like ``logits``
    """
    B = logits.shape[0]
    z = logits - logits.max(axis=1, keepdims=True)
    logsumexp = np.log(np.exp(z).sum(axis=1))
    loss = float(np.mean(logsumexp - z[np.arange(B), labels]))
    grad = softmax(logits)
    grad[np.arange(B), labels] -= 1.0
    grad /= B
    return loss, grad


def double_softmax_cross_entropy(logits, labels, mask=None):
    """The published code's classification loss: cross-entropy of softmax(softmax(z)).

    Kept to compare with the published numbers; squashing the logits into
    [0, 1] before the second softmax bounds the loss below by about 1.46
    (10 classes) and flattens its gradient. Use :func:`cross_entropy`
    otherwise.
    """
    p = softmax(logits)
    loss, g = cross_entropy(p, labels)  # g = dL/dp (already divided by the batch size)
    grad = p * (g - np.sum(p * g, axis=1, keepdims=True))  # through the first softmax's Jacobian
    return loss, grad


def _masked_error(y, target, mask):
    err = y - target
    if mask is not None:
        err = err * mask
    return err


def sse(y, target, mask=None):
    """Half the summed squared error, 0.5 * sum(mask * (y - target)^2)."""
    err = _masked_error(y, target, mask)
    return 0.5 * float(np.sum(err * err)), err


def root_sse(y, target, mask=None):
    """The paper's context-task loss: sqrt(sum over time, trials and outputs of squared errors)."""
    err = _masked_error(y, target, mask)
    total = float(np.sqrt(np.sum(err * err, dtype=np.float64)))
    if total == 0.0:
        return 0.0, np.zeros_like(err)
    return total, err / total


def mse(y, target, mask=None):
    """Mean squared error over the entries that count (mask > 0)."""
    err = _masked_error(y, target, mask)
    n = err.size if mask is None else float(np.sum(np.broadcast_to(mask, err.shape)))
    n = max(n, 1.0)
    return float(np.sum(err * err)) / n, 2.0 * err / n


class WeightedMSE:
    """MSE on the first ``n_activity`` outputs plus ``task_weight`` times the MSE on the rest.

    A loss callable for :func:`~brianmodes.train.bptt.loss_and_grads`:
    ``(outputs, targets, mask) -> (value, d value / d outputs)``.
    """

    def __init__(self, n_activity, task_weight=1.0):
        self.n_activity, self.task_weight = int(n_activity), float(task_weight)
        self.__name__ = f"weighted_mse(n_activity={self.n_activity}, task_weight={self.task_weight:g})"

    def __call__(self, y, target, mask=None):
        err = y - target
        if mask is not None:
            err = err * mask
        n = self.n_activity
        a, b = err[..., :n], err[..., n:]
        grad = np.empty_like(err)
        grad[..., :n] = 2.0 * a / max(a.size, 1)
        value = float(np.sum(a * a)) / max(a.size, 1)
        if b.size:
            grad[..., n:] = self.task_weight * 2.0 * b / b.size
            value += self.task_weight * float(np.sum(b * b)) / b.size
        return value, grad


LOSSES = {"cross_entropy": cross_entropy, "double_softmax_cross_entropy": double_softmax_cross_entropy,
          "mse": mse, "sse": sse, "root_sse": root_sse}


def get_loss(name):
    """Loss function by name: ``cross_entropy``, ``mse``, ``sse`` or ``root_sse``."""
    if callable(name):
        return name
    choice(name, "loss", tuple(LOSSES))
    return LOSSES[name]
