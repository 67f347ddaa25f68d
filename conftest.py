"""Loaded first by pytest, for the tests and the docstring examples alike."""

from _pytest import doctest as _pytest_doctest

# Importing brian2 imports brian2.tests, which replaces pytest's DoctestModule with one that
# cannot collect the docstring examples of a package's __init__.py (IndexError) once any test
# module has imported brian2. Import it here, first, and put pytest's own class back.
_DoctestModule = _pytest_doctest.DoctestModule
import brian2  # noqa: E402,F401

_pytest_doctest.DoctestModule = _DoctestModule
