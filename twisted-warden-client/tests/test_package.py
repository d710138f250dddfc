"""Exports and the generated Deferred methods."""

from __future__ import annotations

import inspect
from pathlib import Path

import warden.twisted_client
from warden.client._codegen import DEFERRED, render
from warden.protocol import REQUEST_TYPES, StreamRequest, type_underscored
from warden.twisted_client import ReconnectingClient, WardenConnection, _methods


def test_committed_methods_are_fresh() -> None:
    committed = Path(inspect.getfile(_methods)).read_text()
    assert committed == render(DEFERRED), "stale: run `python -m warden.client._codegen`"


def test_every_request_type_has_a_method_on_both_classes() -> None:
    for cls in REQUEST_TYPES.values():
        for client_class in (WardenConnection, ReconnectingClient):
            assert callable(getattr(client_class, type_underscored(cls))), cls.__name__
    assert WardenConnection.stream.__doc__
    assert type_underscored(StreamRequest) == "stream"


def test_all_names_exist_and_nothing_public_is_missing() -> None:
    for name in warden.twisted_client.__all__:
        assert hasattr(warden.twisted_client, name), name
    public = {n for n in vars(warden.twisted_client) if not n.startswith("_")}
    assert public - {"testing"} == set(warden.twisted_client.__all__)
