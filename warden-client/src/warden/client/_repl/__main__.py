"""``python -m warden.client._repl``: the same as the ``warden`` command."""

import sys

from . import main

sys.exit(main())
