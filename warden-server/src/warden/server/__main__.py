"""``python -m warden.server``: the same as ``warden-server``."""

import sys

from ._main import main

sys.exit(main())
