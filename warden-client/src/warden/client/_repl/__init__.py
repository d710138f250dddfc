"""The ``warden`` shell and command-line tool.

``warden`` with no arguments is an interactive prompt (``warden> ``); ``warden
-- COMMAND FLAGS...`` runs one command; commands piped to it run one per line.
Every request type of the protocol is a command (``create``, ``run``,
``limit_bandwidth`` ...), its fields are flags (``--handle x``,
``--bind_mounts[0].mode RW``). See ``warden --help`` and ``COMMAND --help``.
"""

from ._main import main

__all__ = ["main"]
