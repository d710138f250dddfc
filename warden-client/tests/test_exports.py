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


def test_errors_and_v1_are_the_shared_ones() -> None:
    # Defined once in warden-protocol so that both clients raise the same classes.
    from warden.protocol import errors, v1

    for name in ("ClientError", "ServerError", "ClientConnectionError", "ClientTimeoutError"):
        assert getattr(warden.client, name) is getattr(errors, name), name
    assert warden.client.V1Error is errors.V1Error
    assert warden.client.server_error is errors.server_error
    assert warden.client.request_from_v1 is v1.request_from_v1
    assert warden.client.response_to_v1 is v1.response_to_v1
