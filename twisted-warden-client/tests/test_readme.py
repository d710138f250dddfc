"""The README's examples run, against the scripted server."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from support import ServerTestCase, reactor

README = Path(__file__).resolve().parent.parent / "README.md"
EXAMPLES = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)


class ReadmeTests(ServerTestCase):
    def test_readme_has_examples(self) -> None:
        self.assertGreaterEqual(len(EXAMPLES), 3)

    async def run_example(self, index: int) -> None:
        code = EXAMPLES[index].replace('"/tmp/warden.sock"', repr(self.path))
        own = os.path.join(self.directory, "own.sock")
        code = code.replace('"/tmp/scripted-warden.sock"', repr(own))
        namespace: dict[str, Any] = {}
        exec(compile(code, str(README), "exec"), namespace)
        await namespace["main"](reactor)

    async def test_example_0(self) -> None:
        await self.run_example(0)
        self.assertTrue(self.server.received)

    async def test_example_1(self) -> None:
        await self.run_example(1)
        self.assertTrue(self.server.received)

    async def test_example_2(self) -> None:
        await self.run_example(2)
