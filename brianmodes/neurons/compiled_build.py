"""Build, cache and load the compiled loop: the system C compiler, a user cache folder, ctypes.

- **Compiler**: the one Brian2's Cython target uses (``$CC``, else Python's
  configured ``CC``, else ``cc``; see :mod:`brianmodes.brian.toolchain`), with
  ``-O3 -march=native -fopenmp`` and, should those fail, a portable fallback
  without ``-march=native`` and ``-fopenmp`` (one thread). Both keep
  ``-ffp-contract=off`` (no fused multiply-adds: every statement rounds as
  numpy's does) and add ``-fno-math-errno`` (no effect on results).
- **Cache**: ``$BRIANMODES_CACHE``, else ``$XDG_CACHE_HOME/brianmodes/compiled``,
  else ``~/.cache/brianmodes/compiled``. A library is named by the SHA-256 of
  its source, the compiler command, the flags and (for ``-march=native``) the
  processor's flags, so a change of any of them builds anew and nothing stale
  is loaded. A build holds an exclusive lock on ``<hash>.lock`` (``fcntl``;
  two processes never build the same library at once: the second waits and
  loads the first's), compiles into a temporary file and publishes it with
  ``os.replace`` (atomic: a reader sees no library or a whole one). A failed
  ``-march=native``/``-fopenmp`` build is remembered (``<hash>.failed``) so that
  later processes go straight to the fallback.
- **Threads**: OpenMP threads that spin-wait between parallel regions take
  the cores from numpy/OpenBLAS (measured here: ~40 → 25 ms for the dense
  MNIST step). Unless ``OMP_WAIT_POLICY`` is set, it is set to ``PASSIVE``
  while the first library loads (libgomp reads it then) and removed again;
  :func:`openmp_info` says what applies.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import shlex
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

from ..errors import BrianModesError

FAST_FLAGS = ("-O3", "-march=native", "-fopenmp", "-ffp-contract=off", "-fno-math-errno", "-fPIC", "-shared")
PORTABLE_FLAGS = ("-O3", "-ffp-contract=off", "-fno-math-errno", "-fPIC", "-shared")
_LIBS = ("-lm",)
_LOADED = {}  # path -> Library
_STATE = {"builds": 0, "wait_policy": None}
_NO_COMPILER = "the C compiler"


def cache_dir():
    """The folder of built libraries (created on first use).

    Examples
    --------
    >>> cache_dir().parts[-2:] == ("brianmodes", "compiled") or "BRIANMODES_CACHE" in os.environ
    True
    """
    if os.environ.get("BRIANMODES_CACHE"):
        return Path(os.environ["BRIANMODES_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "brianmodes" / "compiled"


def compiler():
    """The C compiler command as a list (``$CC``, Python's ``CC``, or ``cc``).

    Examples
    --------
    >>> isinstance(compiler(), list)
    True
    """
    value = os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc"
    return shlex.split(value)


def build_count():
    """How many times this process ran the compiler (cache hits do not count).

    Examples
    --------
    >>> build_count() >= 0
    True
    """
    return _STATE["builds"]


def _cpu_fingerprint():
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line for line in f if line.startswith("flags")), "")
    except OSError:
        flags = ""
    import platform

    return f"{platform.machine()} {platform.processor()} {flags.strip()}"


def library_key(source, flags):
    """The cache name of a library: a hash of everything its binary depends on."""
    parts = [source, " ".join(compiler()), " ".join(flags), " ".join(_LIBS), sys.platform]
    if "-march=native" in flags:
        parts.append(_cpu_fingerprint())
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]


def first_error_line(text):
    """The compiler's first error line (or its first line).

    Examples
    --------
    >>> first_error_line("a.c: In function 'f':\\na.c:3:5: error: 'x' undeclared\\n")
    "a.c:3:5: error: 'x' undeclared"
    """
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line.lower()]
    return (errors or lines or ["(no message)"])[0]


class _Lock:
    """An exclusive lock on a file (no-op where fcntl is missing: the rename still keeps readers safe)."""

    def __init__(self, path):
        self.path = path

    def __enter__(self):
        self.file = open(self.path, "a+")
        try:
            import fcntl

            fcntl.flock(self.file.fileno(), fcntl.LOCK_EX)
        except ImportError:  # pragma: no cover - not on Linux/macOS
            pass
        return self

    def __exit__(self, *exc):
        self.file.close()  # releases the lock


def _compile(source_path, target, flags):
    """Run the compiler; returns None or the compiler's message."""
    cmd = [*compiler(), *flags, "-o", str(target), str(source_path), *_LIBS]
    _STATE["builds"] += 1
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    except FileNotFoundError:
        return f"{_NO_COMPILER} {cmd[0]!r} was not found (set CC, or install one, e.g. `apt install gcc`)"
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{_NO_COMPILER} {cmd[0]!r} could not run: {exc}"
    if proc.returncode != 0:
        return first_error_line(proc.stderr or proc.stdout)
    return None


def _write_atomic(path, text):
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def _paths(folder, source, flags):
    key = library_key(source, flags)
    return folder / f"bm_{key}.so", folder / f"bm_{key}.failed", folder / f"bm_{key}"


def _build_one(folder, source, flags):
    """The path of the library built with ``flags`` (from the cache when there), or (None, message)."""
    lib, failed, stem = _paths(folder, source, flags)
    if lib.exists():
        return lib, None
    if failed.exists():
        return None, failed.read_text().strip() or "an earlier build failed"
    with _Lock(f"{stem}.lock"):
        if lib.exists():  # another process built it while we waited
            return lib, None
        src = Path(f"{stem}.c")
        _write_atomic(src, source)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f"{stem.name}.", suffix=".tmp.so")
        os.close(fd)
        try:
            message = _compile(src, tmp, flags)
            if message is None:
                os.replace(tmp, lib)  # atomic publication
                return lib, None
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
        return None, message


class Library:
    """A loaded compiled loop: ``run(dtype, pointers, integers, doubles)``."""

    def __init__(self, path, flags):
        self.path, self.flags = Path(path), tuple(flags)
        self._cdll = _load(self.path)
        self._run = {}
        for suffix in ("f32", "f64"):
            fn = getattr(self._cdll, f"bm_run_{suffix}")
            fn.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ctypes.c_int64),
                           ctypes.POINTER(ctypes.c_double)]
            fn.restype = ctypes.c_int
            self._run[suffix] = fn
        self._cdll.bm_openmp.restype = ctypes.c_int
        self._cdll.bm_max_threads.restype = ctypes.c_int

    @property
    def openmp(self):
        """Whether the library was built with OpenMP (else it runs on one thread)."""
        return bool(self._cdll.bm_openmp())

    def max_threads(self):
        """OpenMP's thread count for the calling thread (honours OMP_NUM_THREADS and threadpoolctl)."""
        return int(self._cdll.bm_max_threads())

    def release(self, threads=None):
        """Free the work blocks the loop's threads keep between calls (they are allocated again when needed)."""
        if hasattr(self._cdll, "bm_release_f32"):
            n = self.max_threads() if threads is None else int(threads)
            for suffix in ("f32", "f64"):
                getattr(self._cdll, f"bm_release_{suffix}")(ctypes.c_int(n))

    def run(self, suffix, pointers, integers, doubles):
        ptrs = (ctypes.c_void_p * len(pointers))(*pointers)
        ints = (ctypes.c_int64 * len(integers))(*integers)
        dbls = (ctypes.c_double * len(doubles))(*doubles)
        return self._run[suffix](ptrs, ints, dbls)  # ctypes releases the GIL during the call


def _libgomp_loaded():
    try:
        with open("/proc/self/maps") as f:
            return "libgomp" in f.read()
    except OSError:
        return None


def _load(path):
    """``ctypes.CDLL`` with OMP_WAIT_POLICY=PASSIVE while libgomp initialises, unless the user set it."""
    if _STATE["wait_policy"] is None:
        user = os.environ.get("OMP_WAIT_POLICY")
        before = _libgomp_loaded()
        if user:
            _STATE["wait_policy"] = f"{user} (OMP_WAIT_POLICY)"
        elif before:
            _STATE["wait_policy"] = "libgomp's default (it was loaded before brianmodes: set OMP_WAIT_POLICY)"
        else:
            _STATE["wait_policy"] = "PASSIVE (set by brianmodes)"
            os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
            try:
                return ctypes.CDLL(str(path))
            finally:
                del os.environ["OMP_WAIT_POLICY"]
    return ctypes.CDLL(str(path))


def openmp_info():
    """How the compiled loop's OpenMP threads wait (``None`` before a library is loaded).

    Examples
    --------
    >>> sorted(openmp_info())
    ['builds', 'wait_policy']
    """
    return {"wait_policy": _STATE["wait_policy"], "builds": _STATE["builds"]}


def load_library(source, name="model"):
    """The :class:`Library` of ``source``: from memory, from the cache folder, or built now.

    Raises :class:`BrianModesError` with the compiler's first error line when
    neither the fast nor the portable flags build it.
    """
    folder = cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BrianModesError(f"cannot create the compiled-engine cache folder {folder}: {exc}; set "
                              "BRIANMODES_CACHE to a writable folder") from None
    messages = []
    for flags in (FAST_FLAGS, PORTABLE_FLAGS):
        path, message = _build_one(folder, source, flags)
        if path is not None:
            if messages and not messages[0].startswith(_NO_COMPILER):  # remember: these flags do not build here
                _write_atomic(_paths(folder, source, FAST_FLAGS)[1], messages[0] + "\n")
            if str(path) not in _LOADED:
                _LOADED[str(path)] = Library(path, flags)
            return _LOADED[str(path)]
        messages.append(message)
        if message.startswith(_NO_COMPILER):
            break
    raise BrianModesError(f"cannot build the compiled engine for {name} with {' '.join(compiler())}: "
                          f"{messages[-1]}; engine='numpy' needs no compiler")


def forget_loaded():
    """Drop this process's table of loaded libraries (the next load reads the cache folder again)."""
    _LOADED.clear()
