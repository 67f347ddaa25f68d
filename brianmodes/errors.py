"""The one exception type of the package.

Every error that a user can act on (bad configuration, array shapes, files,
data folders, a diverging training run) is raised as :class:`BrianModesError`
with a message that says what was wrong and what to do. The command-line
interface prints that message on one line and exits with status 2.
"""


class BrianModesError(ValueError):
    """A problem with the user's input, files or data that the user can fix.

    Subclasses :class:`ValueError` so that code written against the standard
    exception keeps working.

    Examples
    --------
    >>> from brianmodes import ModeNetwork, BrianModesError
    >>> try:
    ...     ModeNetwork(N=100, P=0, N_in=4, N_out=1)
    ... except BrianModesError as err:
    ...     print(err)
    P (the number of modes) must be a positive integer, got 0
    """
