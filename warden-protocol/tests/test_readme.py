"""The README's example runs and shows the bytes and the output it really gives."""

from __future__ import annotations

import ast
import contextlib
import io
import re
from pathlib import Path

from warden.protocol import EchoRequest, request_to_wire

README = Path(__file__).resolve().parents[1] / "README.md"


def first_python_block() -> str:
    match = re.search(r"```python\n(.*?)```", README.read_text(), re.DOTALL)
    assert match is not None, "README.md has no python example"
    return match.group(1)


def test_the_wire_bytes_shown_are_the_real_ones() -> None:
    line = next(line for line in first_python_block().splitlines() if line.startswith("wire = "))
    shown = ast.literal_eval(line.split("#", 1)[1].strip())
    assert shown == request_to_wire(EchoRequest(message="hello"))


def test_the_example_prints_what_its_comment_says() -> None:
    code = first_python_block()
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, str(README), "exec"), {})
    expected = [line.split("#", 1)[1].strip() for line in code.splitlines() if "print(" in line]
    assert printed.getvalue().splitlines() == expected
