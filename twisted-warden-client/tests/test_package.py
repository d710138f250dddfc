"""Exports, the generated Deferred methods, and independence from the blocking client.

That the generated ``_methods.py`` is fresh is checked in warden-protocol's
tests/test_generated.py, beside its generator.
"""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import requires

from packaging.requirements import Requirement

import warden.twisted_client
from warden.protocol import REQUEST_TYPES, StreamRequest, type_underscored
from warden.protocol import errors as shared_errors
from warden.twisted_client import ReconnectingClient, WardenConnection


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


def test_errors_are_the_shared_classes() -> None:
    for name in ("ClientError", "ServerError", "ClientConnectionError", "ClientTimeoutError"):
        assert getattr(warden.twisted_client, name) is getattr(shared_errors, name), name
    assert warden.twisted_client.V1Error is shared_errors.V1Error


def test_imports_neither_the_blocking_client_nor_prompt_toolkit() -> None:
    # A fresh interpreter: this test session has imported warden.client itself.
    probe = (
        "import sys, warden.twisted_client, warden.twisted_client.testing\n"
        "print(sorted(m for m in sys.modules\n"
        "      if m.split('.')[0] == 'prompt_toolkit' or m.startswith('warden.client')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]", result.stdout


def test_does_not_depend_on_warden_client() -> None:
    names = {Requirement(r).name for r in requires("twisted-warden-client") or []}
    assert "warden-protocol" in names
    assert not names & {"warden-client", "prompt_toolkit", "prompt-toolkit"}, names
