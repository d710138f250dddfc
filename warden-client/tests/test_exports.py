"""The public names are exactly the documented ones."""

from __future__ import annotations

import warden.client


def test_all_names_exist_and_nothing_public_is_missing() -> None:
    for name in warden.client.__all__:
        assert hasattr(warden.client, name), name
    public = {
        name
        for name in vars(warden.client)
        if not name.startswith("_") and name not in {"annotations"}
    }
    assert public == set(warden.client.__all__)
