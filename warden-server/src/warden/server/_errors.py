"""The errors a request can fail with.

::

    WardenError            a request failed; the message goes to the client
    ├── ScriptError        a script exited non-zero or printed too much
    └── StateError         the container is in the wrong state for the request
    ConfigError            the configuration file is invalid (startup only)
"""

from __future__ import annotations

__all__ = ["ConfigError", "StateError", "WardenError"]


class WardenError(Exception):
    """A request failed; ``message`` is sent to the client in an ErrorResponse.

    Where the original had a text for a failure, the message is that text.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class StateError(WardenError):
    """The container is not in one of the states the request allows."""

    def __init__(self, allowed: tuple[str, ...], current: str) -> None:
        super().__init__(
            f"Container state must be one of '{', '.join(allowed)}', "
            f"current state is '{current}'"
        )


class ConfigError(Exception):
    """The configuration is invalid; the message names the key and what was expected."""
