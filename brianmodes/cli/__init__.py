"""The ``brianmodes`` command: train, evaluate, simulate, reproduce, sweep, info, import.

Every user error (bad arguments, missing or damaged files, a diverging run) is
printed as one line ``brianmodes: error: ...`` with exit status 2.
"""

from __future__ import annotations

import sys
import logging
import warnings

from ..errors import BrianModesError
from .commands import (cmd_evaluate, cmd_import, cmd_info, cmd_reproduce, cmd_simulate, cmd_sweep,
                       cmd_train)
from .parser import build_parser, join_negative_values

COMMANDS = {"train": cmd_train, "evaluate": cmd_evaluate, "simulate": cmd_simulate, "info": cmd_info,
            "import": cmd_import, "reproduce": cmd_reproduce, "sweep": cmd_sweep}


def main(argv=None):
    """Entry point of the ``brianmodes`` command; returns the exit status.

    Every user error is one line on stderr, ``brianmodes: error: ...``, with
    exit status 2; warnings are one line ``brianmodes: warning: ...``.
    """
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(join_negative_values(argv, parser))
    args.argv = argv
    with warnings.catch_warnings():
        # Brian2, imported by the commands, routes warnings to its logger (two lines, a source line) with
        # logging.captureWarnings(True); called here first, that call of Brian2's changes nothing
        logging.captureWarnings(True)
        warnings.showwarning = _one_line_warning
        try:
            return COMMANDS[args.command](args)
        except BrianModesError as err:
            print(f"brianmodes: error: {err}", file=sys.stderr)
        except OSError as err:  # a file that could not be read or written: disk full, permissions...
            where = f"{err.filename}: " if err.filename else ""
            print(f"brianmodes: error: {where}{err.strerror or err}", file=sys.stderr)
        except KeyboardInterrupt:
            print("brianmodes: interrupted", file=sys.stderr)
            return 130
    return 2


def _one_line_warning(message, category, filename, lineno, file=None, line=None):
    print(f"brianmodes: warning: {message}", file=sys.stderr)


__all__ = ["main", "build_parser", "COMMANDS"]
