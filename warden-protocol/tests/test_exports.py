"""The public surface: __all__ lists exactly the public names, and they exist."""

from __future__ import annotations

import warden.protocol as wp


def test_all_names_exist() -> None:
    missing = [name for name in wp.__all__ if not hasattr(wp, name)]
    assert missing == []


def test_all_lists_every_public_name() -> None:
    public = {
        name
        for name, value in vars(wp).items()
        if not name.startswith("_") and getattr(value, "__module__", "").startswith("warden.")
    }
    assert public - set(wp.__all__) == set()


def test_every_message_class_is_exported() -> None:
    exported = set(wp.__all__)
    for cls in [*wp.REQUEST_TYPES.values(), *wp.RESPONSE_TYPES.values()]:
        assert cls.__name__ in exported
