"""Fitting a mode network to recorded activity, and choosing P by cross-validation.

The fitted quantity is the trial-averaged filtered rate of each recorded neuron per
condition (its PSTH after the model's own filter). Chosen model neurons stand for the
recorded ones: a fixed selection readout reads their r, and the network is trained so
that, trial by trial, their activity matches the PSTH of the trial's condition computed
from the *training* trials only (the mean-squared error is smallest when the condition
means match). Held-out trials give their own PSTHs, against which the model's
trial-averaged rates are scored, so the error is a true cross-validated one.

A task loss can be added (the recorded animal did a task): the network then has extra,
trained readout rows whose per-trial targets are the task's.
"""

from __future__ import annotations

import numpy as np

from ..checks import choice, positive_int
from ..errors import BrianModesError
from ..estimator import Estimator
from ..surgery import grow_modes, selection_network
from ..tasks.activity import ActivityTask  # noqa: F401 - where fit_activity's tasks come from


def fit_activity(task, N, P, recorded=None, n_batches=800, lr=1e-2, seed=0, progress=False, init=None,
                 **net_kwargs):
    """Train a network of N neurons and P modes so that its ``recorded`` neurons reproduce the task's PSTHs.

    The default learning rate is ten times the task-training one: fitting
    smooth PSTHs tolerates it, and at 1e-3 the fit stalls (measured on a
    ground-truth network: 28 % against 97 % of the PSTH variance explained).

    Parameters
    ----------
    task : ActivityTask
    N, P : int
        Network size and number of modes.
    recorded : array of int, optional
        The model neurons standing for the recorded ones (default: the first n).
    n_batches, lr, seed, progress
        Passed to :class:`~brianmodes.train.Trainer`.
    init : ModeNetwork, optional
        Start from this fitted network (with P or fewer modes, grown with
        :func:`grow_modes`) instead of a fresh one.
    **net_kwargs
        Passed to :class:`~brianmodes.ModeNetwork` (e.g. ``filter``, ``dt``).

    Returns
    -------
    net : ModeNetwork
        The fitted network (its first n readout rows are the fixed selection).
    metrics : dict
        Held-out per-trial ``mse`` (and ``task_mse``), ``psth_mse``
        (cross-validated, see :meth:`ActivityTask.psth_error`) and rate.
    """
    from ..train.trainer import Trainer

    recorded = np.arange(task.n_activity) if recorded is None else np.asarray(recorded)
    if recorded.size != task.n_activity:
        raise BrianModesError(f"{recorded.size} model neurons given for {task.n_activity} recorded ones")
    net = selection_network(N, P, task.n_in, recorded, n_task=task.n_task, seed=seed, **net_kwargs)
    if init is not None:
        if init.N != N or init.N_in != net.N_in or init.N_out != net.N_out:
            raise BrianModesError(f"init has N={init.N}, {init.N_in} inputs and {init.N_out} outputs; this fit "
                                  f"needs {N}, {net.N_in} and {net.N_out}")
        net = grow_modes(init, P, seed=seed)
    selection = np.zeros(net.params["W_out"].shape, bool)
    selection[:task.n_activity] = True
    Trainer(n_batches=n_batches, lr=lr, seed=seed, progress=progress, frozen={"W_out": selection}).fit(net, task)
    metrics = {}
    if task.test_idx.size:
        metrics = dict(task.evaluate(net), psth_mse=task.psth_error(net))
    return net, metrics


def one_standard_error_choice(Ps, mean, sem):
    """The smallest P whose error is within one standard error of the lowest (Hastie et al.'s rule).

    Examples
    --------
    >>> one_standard_error_choice([1, 2, 3, 4], [5.0, 2.0, 1.9, 1.8], [0.1, 0.2, 0.2, 0.2])
    2
    """
    mean, sem = np.asarray(mean, float), np.asarray(sem, float)
    best = int(np.argmin(mean))
    return list(Ps)[int(np.flatnonzero(mean <= mean[best] + sem[best])[0])]


def stepwise_choice(Ps, mean, sem):
    """Add modes while the next P lowers the error by more than the standard error of the difference.

    Starting from the smallest P, move to the next while ``mean[next]`` is
    below ``mean[current]`` by more than ``sqrt(sem[current]**2 + sem[next]**2)``.
    Unlike the global one-standard-error rule, a slow creep of the error
    with P (e.g. nested fits that train longer at larger P) cannot pull the
    choice past the point where one more mode stops making a clear difference.

    Examples
    --------
    >>> stepwise_choice([1, 2, 3, 4], [6.7, 0.60, 0.58, 0.55], [0.1, 0.05, 0.09, 0.07])
    2
    """
    mean, sem = np.asarray(mean, float), np.asarray(sem, float)
    i = 0
    while i + 1 < len(mean) and mean[i] - mean[i + 1] > np.hypot(sem[i], sem[i + 1]):
        i += 1
    return list(Ps)[i]


RULES = ("stepwise", "one-se", "min")


class ModeFit(Estimator):
    """Fit mode networks to recorded activity for several P; choose P by cross-validation.

    A scikit-learn estimator: the constructor stores its arguments as given,
    :meth:`fit` checks them and learns the attributes ending in ``_``;
    ``get_params``, ``set_params`` and ``sklearn.base.clone`` work.

    The trials of every condition are split into ``n_folds`` folds; for each
    fold and P a network is fitted to the other folds' PSTHs and scored
    against the fold's own (:meth:`ActivityTask.psth_error`). The chosen P
    is where one more mode stops lowering the error by more than its
    standard error over folds (:func:`stepwise_choice`); more modes never
    fit worse on average, so the plain minimum drifts upwards by amounts far
    below the noise.

    Parameters
    ----------
    N : int
        Network size of the fitted networks.
    Ps : sequence of int
    n_folds : int
    recorded, n_batches, lr, seed, progress
        As for :func:`fit_activity`.
    task_kwargs : dict, optional
        More :class:`ActivityTask` arguments (``task_targets``, ``n_model_trials``...).
    nested : bool
        Fit the Ps in increasing order, each starting from the previous fit
        with new modes added (:func:`grow_modes`). Fitted from scratch, a
        network with P* modes can leave one unfound within the budget while
        one with more modes finds them, which pushes the choice upwards; grown,
        the error falls to the truth's level at P* and then flattens.
    rule : {"stepwise", "one-se", "min"}
        How P is chosen from the curve: :func:`stepwise_choice`,
        :func:`one_standard_error_choice` or the lowest mean error.
    net_kwargs : dict, optional
        Passed to :class:`~brianmodes.ModeNetwork` (e.g. ``filter``, ``dt``).

    Attributes
    ----------
    cv_errors_ : ndarray (len(Ps), n_folds)
        Cross-validated PSTH error of every P on every fold.
    cv_mean_, cv_sem_ : ndarray (len(Ps),)
        Their mean and standard error over folds.
    noise_floor_ : float
        The error a perfect model would have.
    best_P_ : int
        The P that ``rule`` chooses; ``stepwise_P_``, ``one_se_P_`` and
        ``min_P_`` for comparison.
    networks_ : dict
        P -> the network fitted on all but the first fold.
    network_ : ModeNetwork
        ``networks_[best_P_]``.

    Examples
    --------
    >>> fit = ModeFit(N=60, Ps=(1, 2, 3), n_batches=400).fit(inputs, conditions, activity)  # doctest: +SKIP
    >>> fit.best_P_, fit.cv_mean_                                                           # doctest: +SKIP
    """

    def __init__(self, N, Ps=(1, 2, 3, 4, 5), n_folds=4, recorded=None, n_batches=800, lr=1e-2, seed=0,
                 progress=False, task_kwargs=None, nested=True, rule="stepwise", net_kwargs=None):
        self.N = N
        self.Ps = Ps
        self.n_folds = n_folds
        self.recorded = recorded
        self.n_batches = n_batches
        self.lr = lr
        self.seed = seed
        self.progress = progress
        self.task_kwargs = task_kwargs
        self.nested = nested
        self.rule = rule
        self.net_kwargs = net_kwargs

    def _validate(self):
        Ps = [positive_int(P, "each P") for P in self.Ps]
        choice(self.rule, "rule", RULES)
        if self.nested and Ps != sorted(Ps):
            raise BrianModesError(f"nested fits need the Ps in increasing order, got {list(self.Ps)}")
        if positive_int(self.n_folds, "n_folds") < 2:
            raise BrianModesError(f"n_folds must be at least 2, got {self.n_folds}")
        return Ps

    def _folds(self, conditions):
        fold = np.empty(conditions.size, int)
        rng = np.random.default_rng(self.seed)
        for c in np.unique(conditions):
            idx = rng.permutation(np.flatnonzero(conditions == c))
            if idx.size < self.n_folds:
                raise BrianModesError(f"condition {c!r} has {idx.size} trials, fewer than the {self.n_folds} folds")
            fold[idx] = np.arange(idx.size) % self.n_folds
        return fold

    def fit(self, inputs, conditions, activity):
        """Fit every P on every fold (as :class:`ActivityTask` takes the recording); returns self."""
        Ps, n_folds = self._validate(), int(self.n_folds)
        conditions = np.asarray(conditions)
        fold = self._folds(conditions)
        errors = np.empty((len(Ps), n_folds))
        floors, nets = [], {}
        bar = None
        if self.progress:  # one bar over all fits (fold x P), with an ETA
            from tqdm.auto import tqdm

            bar = tqdm(total=n_folds * len(Ps), desc="ModeFit", unit="fit")
        try:
            for k in range(n_folds):
                task = ActivityTask(inputs, conditions, activity, test_trials=np.flatnonzero(fold == k),
                                    seed=self.seed, **(self.task_kwargs or {}))
                floors.append(task.noise_floor())
                previous = None
                for i, P in enumerate(Ps):
                    net, metrics = fit_activity(task, self.N, P, recorded=self.recorded, n_batches=self.n_batches,
                                                lr=self.lr, seed=self.seed, progress=False, init=previous,
                                                **(self.net_kwargs or {}))
                    previous = net if self.nested else None
                    errors[i, k] = metrics["psth_mse"]
                    if k == 0:
                        nets[P] = net
                    if bar is not None:
                        bar.set_postfix({"fold": k, "P": P, "error": f"{metrics['psth_mse']:.2e}"}, refresh=False)
                        bar.update(1)
        finally:
            if bar is not None:
                bar.close()
        self.cv_errors_ = errors
        self.cv_mean_, self.cv_sem_ = errors.mean(axis=1), errors.std(axis=1, ddof=1) / np.sqrt(n_folds)
        self.noise_floor_ = float(np.mean(floors))
        self.stepwise_P_ = stepwise_choice(Ps, self.cv_mean_, self.cv_sem_)
        self.one_se_P_ = one_standard_error_choice(Ps, self.cv_mean_, self.cv_sem_)
        self.min_P_ = Ps[int(np.argmin(self.cv_mean_))]
        self.best_P_ = {"stepwise": self.stepwise_P_, "one-se": self.one_se_P_, "min": self.min_P_}[self.rule]
        self.networks_ = nets
        self.network_ = nets[self.best_P_]
        return self

    def summary(self):
        """The fit as a dict: what :func:`choose_modes` returns."""
        return {"Ps": [int(P) for P in self.Ps], "fold_errors": self.cv_errors_, "mean": self.cv_mean_,
                "sem": self.cv_sem_, "noise_floor": self.noise_floor_, "best_P": self.best_P_,
                "stepwise_P": self.stepwise_P_, "one_se_P": self.one_se_P_, "min_P": self.min_P_,
                "networks": self.networks_}


def choose_modes(inputs, conditions, activity, N, Ps=(1, 2, 3, 4, 5), n_folds=4, recorded=None, n_batches=800,
                 lr=1e-2, seed=0, progress=False, task_kwargs=None, nested=True, rule="stepwise", **net_kwargs):
    """Cross-validated error of the trial-averaged rates against P, and the P it chooses.

    ``ModeFit(N, Ps, ...).fit(inputs, conditions, activity).summary()``: see
    :class:`ModeFit` for the method and the arguments.

    Returns
    -------
    dict
        ``Ps``; ``fold_errors`` (len(Ps), n_folds); ``mean`` and ``sem`` per
        P; ``noise_floor`` (the error a perfect model would have);
        ``best_P`` (by ``rule``), and for comparison ``stepwise_P``,
        ``one_se_P`` and ``min_P`` (lowest mean);
        ``networks`` (P -> the network fitted on all but the first fold).
    """
    return ModeFit(N, Ps=Ps, n_folds=n_folds, recorded=recorded, n_batches=n_batches, lr=lr, seed=seed,
                   progress=progress, task_kwargs=task_kwargs, nested=nested, rule=rule,
                   net_kwargs=net_kwargs).fit(inputs, conditions, activity).summary()


def mode_subspace_angles(true_net, fitted_net, true_neurons, fitted_neurons=None, which="in"):
    """Principal angles (degrees) between two networks' mode subspaces, over the neurons they share.

    The subspace of a network is the span of the columns of ``xi_in`` (the
    directions its recurrent input takes; ``which="out"`` for ``xi_out``)
    restricted to the given neurons, e.g. the recorded ones and the model
    neurons that stand for them.

    Returns
    -------
    ndarray
        min(P_true, P_fitted) angles, smallest first; all near 0 when one
        subspace contains the other.

    Examples
    --------
    >>> import numpy as np
    >>> from brianmodes import ModeNetwork
    >>> a = ModeNetwork(N=30, P=2, N_in=1, N_out=1, seed=0)
    >>> b = ModeNetwork(N=30, P=3, N_in=1, N_out=1, seed=1)
    >>> b.params["xi_in"][:, :2] = a.params["xi_in"] @ np.array([[1.0, 2.0], [0.5, -1.0]])
    >>> np.round(mode_subspace_angles(a, b, np.arange(30)), 6)
    array([0., 0.])
    """
    from scipy.linalg import subspace_angles

    key = {"in": "xi_in", "out": "xi_out"}.get(which)
    if key is None:
        raise BrianModesError(f"which must be 'in' or 'out', got {which!r}")
    for net in (true_net, fitted_net):
        if net.parametrization != "modes":
            raise BrianModesError("mode subspaces need networks with parametrization='modes'")
    true_neurons = np.asarray(true_neurons, dtype=int)
    fitted_neurons = true_neurons if fitted_neurons is None else np.asarray(fitted_neurons, dtype=int)
    a = true_net.params[key][true_neurons]
    b = fitted_net.params[key][fitted_neurons]
    return np.sort(np.degrees(subspace_angles(a, b)))
