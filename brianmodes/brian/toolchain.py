"""Is there a compiler for Brian2's compiled targets? Say so before Brian2 tries.

Brian2's Cython target and its C++ standalone device compile generated code;
without a C/C++ compiler they fail deep inside Brian2 with a long traceback.
:func:`check_toolchain` looks for the programs first and names what works
instead (the numpy target needs no compiler).
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
import sysconfig

from ..errors import BrianModesError


def required_programs(kind):
    """The programs that Brian2's ``kind`` (``numpy``, ``cython`` or ``cpp_standalone``) runs.

    The compilers are those Python's build tools use (``CC``/``CXX`` from the
    environment, else from Python's own configuration); C++ standalone builds
    with ``make`` and ``$CXX`` (default ``g++``).

    Examples
    --------
    >>> required_programs("numpy")
    []
    """
    if kind == "numpy" or sys.platform == "win32":  # Windows: MSVC, found by Brian2 itself
        return []
    def first_word(variable, default):
        value = os.environ.get(variable) or sysconfig.get_config_var(variable) or default
        return shlex.split(value)[0]

    if kind == "cython":
        return sorted({first_word("CC", "cc"), first_word("CXX", "c++"), first_word("LDSHARED", "cc")})
    if kind == "cpp_standalone":
        from brian2 import prefs

        make = shlex.split(prefs.devices.cpp_standalone.make_cmd_unix)[0]
        return sorted({os.environ.get("CXX", "g++").split()[0] or "g++", make})
    raise BrianModesError(f"unknown Brian2 target or device {kind!r}; choose numpy, cython or cpp_standalone")


def check_toolchain(kind):
    """Raise :class:`BrianModesError` if a program that ``kind`` needs is not installed.

    Examples
    --------
    >>> check_toolchain("numpy")   # needs no compiler
    """
    missing = [program for program in required_programs(kind) if shutil.which(program) is None]
    if missing:
        raise BrianModesError(
            f"Brian2's {kind} needs a C++ compiler toolchain, and {', '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} not installed; use Brian2's numpy target "
            "(--device runtime --target numpy; device='runtime', target='numpy' in Python), which needs no "
            "compiler, or install one (e.g. `apt install g++ make`)")
