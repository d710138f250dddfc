"""Write the typed convenience methods of both clients from the protocol's type map.

Usage: python scripts/generate_methods.py [OUTPUT_ROOT]
(default: the repository root, in place; ``make proto`` runs it)

One method per request type, named ``type_underscored`` (``net_in`` for
NetInRequest): the request's required fields are positional, in declaration
order (so ``handle`` comes first), the optional ones keyword-only. The methods
are generated rather than built at run time so that type checkers and editors
see real signatures.

It writes into the two client packages' source trees, so its check lives with
it: ``tests/test_generated.py`` (tox env ``protocol``) regenerates into a temp
directory and fails, saying to run ``make proto``, when either committed file
differs. It lives here, not in a client, because it reads only the protocol's
type map and neither client may depend on the other.
"""

from __future__ import annotations

import keyword
import sys
from dataclasses import dataclass
from pathlib import Path

from google.protobuf.descriptor import Descriptor, FieldDescriptor

from warden.protocol import (
    REQUEST_TYPES,
    BulkInfoRequest,
    GetPropertyRequest,
    StreamInRequest,
    StreamOutRequest,
    StreamRequest,
    response_class_for,
    type_underscored,
)

__all__ = ["BLOCKING", "DEFERRED", "FLAVOURS", "Flavour", "generate", "render"]

#: The repository root: the client packages are its subfolders.
REPOSITORY = Path(__file__).resolve().parents[2]
LINE_LENGTH = 100  # ruff.toml's line-length

_F = FieldDescriptor
_SCALARS = {
    _F.TYPE_BOOL: "bool",
    _F.TYPE_STRING: "str",
    _F.TYPE_BYTES: "bytes",
    _F.TYPE_FLOAT: "float",
    _F.TYPE_DOUBLE: "float",
}

# Names the generated methods use themselves.
_RESERVED = ("self", "timeout", "request", "response")

#: Requests answered by many frames; ``stream()`` serves them, not a call method.
STREAMING: tuple[type[object], ...] = (StreamRequest, StreamInRequest, StreamOutRequest)

#: Extension methods that return something made of the response: the type
#: and the warden.protocol function that makes it.
RESULTS: dict[type[object], tuple[str, str]] = {
    GetPropertyRequest: ("str", "property_value"),
    BulkInfoRequest: ("dict[str, InfoResponse | ServerError]", "bulk_info_result"),
}

#: Optional fields that are positional all the same (``bulk_info(handles)``).
POSITIONAL: dict[type[object], tuple[str, ...]] = {BulkInfoRequest: ("handles",)}

#: Message types given as something simpler, with the warden.protocol
#: function that makes the field's value of it: properties as a dict.
CONVERTED: dict[str, tuple[str, str]] = {
    "warden.Property": (
        "Mapping[str, str] | Iterable[Property | Mapping[str, Any]]",
        "property_list",
    ),
    # A terminal size as ``(rows, columns)``.
    "warden.TTY": ("TTY | tuple[int, int] | Mapping[str, Any]", "tty_size"),
}


@dataclass(frozen=True)
class Flavour:
    """How one client spells its methods."""

    module: str  # the module the output becomes, for its header
    path: str  # where that module's source is, from the repository root
    class_name: str
    class_doc: str
    returns: str  # format with {response}
    extra_params: tuple[str, ...]  # after the fields, keyword-only
    send_args: str  # what follows the request in the call to _send
    imports: tuple[str, ...]
    call_doc: tuple[str, ...]


BLOCKING = Flavour(
    module="warden.client._methods",
    path="warden-client/src/warden/client/_methods.py",
    class_name="RequestMethods",
    class_doc="One blocking method per request type; each returns the response.",
    returns="{response}",
    extra_params=("timeout: float | None = None",),
    send_args="timeout",
    imports=(),
    call_doc=(
        "Send any request and return its response (a v1 command list: its v1 value).",
        "",
        "An ErrorResponse raises ServerError. A list or tuple is a v1 command and",
        "switches this client to v1 mode for good, as the original did: from then",
        "on ``call`` returns v1 values for every request (the typed methods above",
        "keep returning responses). ``timeout`` is in seconds; None waits forever.",
    ),
)

DEFERRED = Flavour(
    module="warden.twisted_client._methods",
    path="twisted-warden-client/src/warden/twisted_client/_methods.py",
    class_name="DeferredRequestMethods",
    class_doc="One method per request type; each returns a Deferred of the response.",
    returns="Deferred[{response}]",
    extra_params=(),
    send_args="",
    imports=("from twisted.internet.defer import Deferred",),
    call_doc=(
        "Send any request; the Deferred fires with its response (v1: its v1 value).",
        "",
        "An ErrorResponse fails the Deferred with ServerError; a lost connection",
        "with ClientConnectionError. A list or tuple is a v1 command and switches",
        "this connection to v1 mode for good, as the original did: from then on",
        "``call`` fires with v1 values for every request (the typed methods above",
        "keep firing with responses).",
    ),
)


def _python_type(field: FieldDescriptor) -> str:
    converted = _converted(field)
    if converted is not None:
        return converted[0]
    if field.message_type is not None:
        name = field.message_type.full_name.removeprefix("warden.")
        base = f"{name} | Mapping[str, Any]"
    elif field.enum_type is not None:  # a value (NetOutRequest.UDP) or its name ("UDP")
        base = field.enum_type.full_name.removeprefix("warden.") + " | str"
    else:
        base = _SCALARS.get(field.type, "int")
    return f"Iterable[{base}]" if field.is_repeated else base


def _converted(field: FieldDescriptor) -> tuple[str, str] | None:
    if field.message_type is None:
        return None
    return CONVERTED.get(field.message_type.full_name)


def _top_level(descriptor: Descriptor) -> str:
    return descriptor.full_name.removeprefix("warden.").split(".")[0]


def _method(cls: type[object], flavour: Flavour, names: set[str]) -> list[str]:
    descriptor: Descriptor = cls.DESCRIPTOR  # type: ignore[attr-defined]
    response = response_class_for(cls).__name__  # type: ignore[arg-type]
    names.update({cls.__name__, response})
    required, optional = [], []
    positional = POSITIONAL.get(cls, ())
    arguments = []
    for field in descriptor.fields:
        if keyword.iskeyword(field.name) or field.name in _RESERVED:
            raise SystemExit(f"{cls.__name__}.{field.name} cannot be a parameter name")
        converted = _converted(field)
        if converted is not None:
            names.update({_top_level(field.message_type), converted[1]})
            arguments.append(f"            {field.name}={converted[1]}({field.name}),")
        else:
            if field.message_type is not None:
                names.add(_top_level(field.message_type))
            arguments.append(f"            {field.name}={field.name},")
        if field.is_required:
            required.append(f"{field.name}: {_python_type(field)}")
        elif field.name in positional:
            required.append(f"{field.name}: {_python_type(field)} | None = None")
        else:
            optional.append(f"{field.name}: {_python_type(field)} | None = None")
    keyword_only = optional + list(flavour.extra_params)
    params = ["self", *required, *(["*", *keyword_only] if keyword_only else [])]
    send = f"request{', ' + flavour.send_args if flavour.send_args else ''}"
    name = type_underscored(cls)  # type: ignore[arg-type]
    sent = flavour.returns.format(response=response)
    result = RESULTS.get(cls)
    returns = sent if result is None else flavour.returns.format(response=result[0])
    lines = [f"    def {name}("]
    lines += [f"        {p}," for p in params]
    lines += [
        f"    ) -> {returns}:",
        (
            f'        """Send ``{cls.__name__}``, return ``{response}``."""'
            if result is None
            else f'        """Send ``{cls.__name__}``, return ``{result[1]}`` of ``{response}``."""'
        ),
        *(
            [f"        request = {cls.__name__}(", *arguments, "        )"]
            if arguments
            else [f"        request = {cls.__name__}()"]
        ),
    ]
    if result is None:
        lines += [f"        response: {sent} = self._send({send})", "        return response"]
    else:
        names.update({result[1], "InfoResponse"})
        if flavour.send_args:  # blocking: the value at once
            lines += [
                f"        response: {response} = self._send({send})",
                f"        return {result[1]}(response)",
            ]
        else:
            lines += [
                f"        sent: {sent} = self._send({send})",
                f"        return sent.addCallback({result[1]})",
            ]
    lines.append("")
    return lines


def _signature(params: str, returns: str) -> list[str]:
    """An overload of ``call`` laid out as ruff format would: on one line when it fits."""
    line = f"    def call(self, {params}) -> {returns}: ..."
    if len(line) <= LINE_LENGTH:
        return [line]
    return ["    def call(", f"        self, {params}", f"    ) -> {returns}: ..."]


def _call_overloads(flavour: Flavour) -> list[str]:
    timeout = ", timeout: float | None = None" if flavour.send_args else ""
    lines = []
    for number in sorted(REQUEST_TYPES):
        cls = REQUEST_TYPES[number]
        if cls in STREAMING:
            continue
        response = flavour.returns.format(response=response_class_for(cls).__name__)
        lines += ["    @overload", *_signature(f"request: {cls.__name__}{timeout}", response)]
    anything = flavour.returns.format(response="Any")
    send = "request, timeout" if flavour.send_args else "request"
    lines += [
        "    @overload",
        *_signature(f"request: builtins.list[Any] | tuple[Any, ...]{timeout}", anything),
        "    @overload",
        f"    def call(self, request: Request{timeout}) -> {anything}: ...",
        f"    def call(self, request: Any{timeout}) -> {anything}:",
        f'        """{flavour.call_doc[0]}',
        *(f"        {line}".rstrip() for line in flavour.call_doc[1:]),
        '        """',
        f"        result: {anything} = self._call({send})",
        "        return result",
        "",
    ]
    return lines


def _import_order(name: str) -> tuple[int, str]:
    # As ruff's isort sorts: constants (TTY), classes, then functions.
    return (0 if name.isupper() else 2 if name[:1].islower() else 1, name)


def render(flavour: Flavour) -> str:
    """The source of one flavour's mixin module."""
    names: set[str] = {"Request"}
    body: list[str] = []
    for number in sorted(REQUEST_TYPES):
        cls = REQUEST_TYPES[number]
        if cls in STREAMING:
            continue
        body += _method(cls, flavour, names)
    body += _call_overloads(flavour)
    send_params = "self, request: Any" + (", timeout: float | None" if flavour.send_args else "")
    header = [
        "# Generated from warden.protocol's type map by `make proto`: do not edit.",
        f'"""Typed convenience methods ({flavour.module}), one per request type."""',
        "",
        "from __future__ import annotations",
        "",
        "import builtins",
        "from collections.abc import Iterable, Mapping",
        "from typing import Any, overload",
        "",
        *flavour.imports,
        *([""] if flavour.imports else []),
        "from warden.protocol import (",
        *(f"    {name}," for name in sorted(names, key=_import_order)),
        ")",
        "from warden.protocol.errors import ServerError",
        "",
        f'__all__ = ["{flavour.class_name}"]',
        "",
        "",
        f"class {flavour.class_name}:",
        f'    """{flavour.class_doc}',
        "",
        "    Required fields are positional, in declaration order; optional ones are",
        "    keyword-only and left unset when None. The requests answered by many",
        "    frames have none here: ``stream()``, ``stream_in()`` and ``stream_out()``",
        "    serve them.",
        '    """',
        "",
        f"    def _send({send_params}) -> Any:",
        '        """Send one v2 request; its response, never a v1 value."""',
        "        raise NotImplementedError",
        "",
        f"    def _call({send_params}) -> Any:",
        '        """Send a request or a v1 command; the response or the v1 value."""',
        "        raise NotImplementedError",
        "",
    ]
    return "\n".join(header + body).rstrip("\n") + "\n"


#: Every generated module, one per client.
FLAVOURS = (BLOCKING, DEFERRED)


def generate(root: Path) -> list[Path]:
    """Write every flavour's module under ``root`` (a repository-like tree)."""
    written = []
    for flavour in FLAVOURS:
        path = root / flavour.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(flavour))
        written.append(path)
    return written


if __name__ == "__main__":
    for written in generate(Path(sys.argv[1]) if len(sys.argv) > 1 else REPOSITORY):
        print(f"wrote {written}")
