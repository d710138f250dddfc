"""The typed convenience methods: fresh, complete, and shaped as documented."""

from __future__ import annotations

import inspect
from pathlib import Path

from warden.client import Client, _methods
from warden.client._codegen import BLOCKING, STREAMING, render
from warden.protocol import REQUEST_TYPES, StreamRequest, type_underscored


def test_committed_methods_are_fresh() -> None:
    committed = Path(inspect.getfile(_methods)).read_text()
    assert committed == render(BLOCKING), "stale: run `python -m warden.client._codegen`"


def test_every_request_type_has_a_method() -> None:
    for cls in REQUEST_TYPES.values():
        assert callable(getattr(Client, type_underscored(cls))), cls.__name__
    assert (StreamRequest,) == STREAMING  # served by Client.stream


def test_required_fields_positional_optional_keyword_only() -> None:
    for cls in REQUEST_TYPES.values():
        if cls in STREAMING:
            continue
        method = getattr(Client, type_underscored(cls))
        parameters = list(inspect.signature(method).parameters.values())[1:]
        fields = cls.DESCRIPTOR.fields
        required = [f.name for f in fields if f.is_required]
        positional = [p.name for p in parameters if p.kind is p.POSITIONAL_OR_KEYWORD]
        keyword_only = [p.name for p in parameters if p.kind is p.KEYWORD_ONLY]
        assert positional == required, cls.__name__
        assert keyword_only == [f.name for f in fields if not f.is_required] + ["timeout"]
    run = inspect.signature(Client.run).parameters
    assert list(run)[:3] == ["self", "handle", "script"]
