"""Digit classification from rate-coded images (SPEC 2.1)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import BrianModesError
from .base import Batch, Task, bernoulli_spikes


class RateCodedImages(Task):
    """Classify images whose pixels are Bernoulli spike trains.

    Each input spikes at each step with probability equal to its pixel's
    intensity; the network's output is W_out max_t r(t) and the loss a
    single-softmax cross-entropy.

    Parameters
    ----------
    train_images, test_images : ndarray (n, n_pixels), values in [0, 1]
    train_labels, test_labels : ndarray (n,), integers 0..n_classes-1
    n_steps : int
        Steps per trial (T = 50, 100 ms, in the paper).
    n_classes : int
    """

    readout = "max"
    loss = "cross_entropy"
    filter = "double"
    main_metric = "accuracy"

    def __init__(self, train_images, train_labels, test_images, test_labels, n_steps=50, n_classes=10):
        if int(n_steps) < 2:
            raise BrianModesError(f"n_steps must be at least 2, got {n_steps!r}")
        self.train_images = np.ascontiguousarray(train_images, dtype=np.float32)
        self.test_images = np.ascontiguousarray(test_images, dtype=np.float32)
        self.train_labels = np.asarray(train_labels, dtype=np.int64)
        self.test_labels = np.asarray(test_labels, dtype=np.int64)
        self.n_steps = int(n_steps)
        self.n_in = self.train_images.shape[1]
        self.n_out = int(n_classes)

    def _batch(self, images, labels, rng):
        return Batch(inputs=bernoulli_spikes(images, self.n_steps, rng), targets=labels,
                     info={"labels": labels})

    def sample(self, batch_size, rng):
        """Random training images (with replacement), freshly rate-coded."""
        idx = rng.integers(0, len(self.train_labels), size=int(batch_size))
        return self._batch(self.train_images[idx], self.train_labels[idx], rng)

    def n_test_trials(self, n_trials=None):
        return len(self.test_labels) if n_trials is None else min(int(n_trials), len(self.test_labels))

    def test_indices(self, n_trials=None, seed=0):
        """The test images a held-out evaluation uses: all of them in order, or a seeded stratified subset.

        ``n_trials`` smaller than the test set draws that many images at random
        (seeded by ``seed``), each class in proportion to its share of the test
        set, so that a quick check is not biased towards the first images.

        Examples
        --------
        >>> from brianmodes.tasks import make_task
        >>> task = make_task("digits")
        >>> idx = task.test_indices(100)
        >>> len(idx), bool((np.diff(idx) > 0).all()), len(set(task.test_labels[idx]))
        (100, True, 10)
        """
        n_all, n = len(self.test_labels), self.n_test_trials(n_trials)
        if n == n_all:
            return np.arange(n_all)
        classes, counts = np.unique(self.test_labels, return_counts=True)
        share = counts * n / n_all
        take = np.floor(share).astype(int)
        remainder = np.argsort(-(share - take), kind="stable")[:n - take.sum()]  # largest remainders
        take[remainder] += 1
        rng = np.random.default_rng([seed, 0x5eed])
        chosen = [rng.choice(np.flatnonzero(self.test_labels == c), size=k, replace=False)
                  for c, k in zip(classes, take)]
        return np.sort(np.concatenate(chosen))

    def test_batches(self, batch_size=500, n_trials=None, seed=0):
        """The held-out images of :meth:`test_indices`, rate-coded.

        Image i's spikes are drawn from a generator seeded with ``(seed, i)``,
        so they do not depend on the batch size or on which images are chosen.
        """
        indices = self.test_indices(n_trials, seed)
        for start in range(0, len(indices), batch_size):
            chunk = indices[start:start + batch_size]
            inputs = np.empty((self.n_steps, chunk.size, self.n_in), np.bool_)
            for j, i in enumerate(chunk):
                bernoulli_spikes(self.test_images[i:i + 1], self.n_steps, np.random.default_rng([seed, int(i)]),
                                 out=inputs[:, j:j + 1])
            labels = self.test_labels[chunk]
            yield Batch(inputs=inputs, targets=labels, info={"labels": labels, "indices": chunk})

    def trial_metrics(self, outputs, batch):
        """``accuracy``: 1 where the largest output is the label."""
        return {"accuracy": np.argmax(outputs, axis=1) == batch.targets}


class Digits(RateCodedImages):
    """scikit-learn's built-in 8x8 digits (1,797 images, no download): the offline default.

    Pixels (0..16) are scaled to [0, 1]; a fixed stratified split keeps 20 %
    of the images for testing.

    Examples
    --------
    >>> import numpy as np
    >>> task = Digits()
    >>> batch = task.sample(32, np.random.default_rng(0))
    >>> batch.inputs.shape, batch.targets.shape
    ((50, 32, 64), (32,))
    """

    name = "digits"
    default_batch_size = 64
    default_batches = 2000
    data_description = "scikit-learn's built-in 8x8 digits (load_digits), stratified 80/20 split, seed 0"

    def __init__(self, n_steps=50, test_fraction=0.2, split_seed=0):
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split

        data = load_digits()
        X = data.data.astype(np.float32) / 16.0
        X_tr, X_te, y_tr, y_te = train_test_split(X, data.target, test_size=test_fraction,
                                                  random_state=split_seed, stratify=data.target)
        super().__init__(X_tr, y_tr, X_te, y_te, n_steps=n_steps)
        self._args = {"n_steps": self.n_steps, "test_fraction": test_fraction, "split_seed": split_seed}

    def config(self):
        return {"name": self.name, **self._args}


class MNIST(RateCodedImages):
    """MNIST from a folder of IDX files (gzipped or not, either naming convention).

    Parameters
    ----------
    data_dir : str or Path
        Folder with ``train-images``, ``train-labels``, ``t10k-images`` and
        ``t10k-labels`` IDX files.
    n_steps : int
    n_train : int, optional
        Use only the first ``n_train`` training images (quick runs).
    """

    name = "mnist"
    default_batch_size = 256
    default_batches = 3000
    data_description = "MNIST (LeCun, Cortes & Burges), the four IDX files in the folder given as data_dir"
    needs_data_dir = True

    def __init__(self, data_dir=None, n_steps=50, n_train=None):
        from .idx import load_mnist

        if data_dir is None:
            raise BrianModesError("the mnist task needs data_dir: a folder with the MNIST IDX files "
                                  "(e.g. --data-dir ../shared/data/mnist)")
        train_x, train_y = load_mnist(data_dir, "train")
        test_x, test_y = load_mnist(data_dir, "test")
        if n_train is not None:
            train_x, train_y = train_x[:int(n_train)], train_y[:int(n_train)]
        scale = np.float32(1.0 / 255.0)
        super().__init__(train_x.reshape(len(train_x), -1) * scale, train_y,
                         test_x.reshape(len(test_x), -1) * scale, test_y, n_steps=n_steps)
        # resolved, so that a model trained with a relative folder is evaluated from anywhere
        self._args = {"data_dir": str(Path(data_dir).resolve()), "n_steps": self.n_steps, "n_train": n_train}

    def config(self):
        return {"name": self.name, **self._args}
