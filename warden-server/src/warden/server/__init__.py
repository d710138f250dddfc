"""The warden daemon.

``warden-server --config FILE`` runs it (see ``_main``); ``Server`` is the
daemon itself, ``Container`` (in ``warden.server.container``) the base that
backends extend. Errors reach clients as ``WardenError`` messages.
"""

from __future__ import annotations

from ._config import Config, load_config, parse_config
from ._errors import ConfigError, StateError, WardenError
from ._main import main
from ._server import Server

__all__ = [
    "Config",
    "ConfigError",
    "Server",
    "StateError",
    "WardenError",
    "load_config",
    "main",
    "parse_config",
]
