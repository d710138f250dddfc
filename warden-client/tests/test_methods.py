"""The typed convenience methods: complete, and shaped as documented.

They are generated (warden-protocol/scripts/generate_methods.py, ``make
proto``); that the committed file is fresh is checked in warden-protocol's
tests/test_generated.py.
"""

from __future__ import annotations

import inspect

from warden.client import Client
from warden.protocol import (
    REQUEST_TYPES,
    BulkInfoRequest,
    StreamInRequest,
    StreamOutRequest,
    StreamRequest,
    type_underscored,
)

#: Requests of many frames: Client.stream, stream_in and stream_out serve
#: them, not generated methods.
STREAMING = (StreamRequest, StreamInRequest, StreamOutRequest)
#: Optional fields that are positional all the same.
POSITIONAL = {BulkInfoRequest: ("handles",)}


def test_every_request_type_has_a_method() -> None:
    for cls in REQUEST_TYPES.values():
        assert callable(getattr(Client, type_underscored(cls))), cls.__name__
    assert Client.stream.__doc__
    in_parameters = list(inspect.signature(Client.stream_in).parameters)
    assert in_parameters[:4] == ["self", "handle", "dst_path", "fileobj"]
    assert list(inspect.signature(Client.stream_out).parameters) == ["self", "handle", "src_path"]


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
        also = list(POSITIONAL.get(cls, ()))  # bulk_info(handles)
        assert positional == required + also, cls.__name__
        assert keyword_only == [
            f.name for f in fields if not f.is_required and f.name not in also
        ] + ["timeout"]
    assert list(inspect.signature(Client.bulk_info).parameters)[:2] == ["self", "handles"]
    run = inspect.signature(Client.run).parameters
    assert list(run)[:3] == ["self", "handle", "script"]
