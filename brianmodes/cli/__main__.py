"""``python -m brianmodes.cli``: the ``brianmodes`` command."""

import sys

from . import main

sys.exit(main())
