"""The committed generated code matches its sources.

Two generators: ``scripts/generate.py`` (protoc: ``pb/*_pb2.py`` and ``.pyi``
from the ``.proto`` files) and ``scripts/generate_methods.py`` (the typed
request methods of both clients, from the protocol's type map). The second
writes into the client packages' source trees, so its freshness is checked
here, where a change to a ``.proto`` file is tested. ``make proto`` runs both.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent
REPOSITORY = PACKAGE.parent
#: What scripts/generate_methods.py writes, relative to the repository root.
CLIENT_METHODS = (
    "warden-client/src/warden/client/_methods.py",
    "twisted-warden-client/src/warden/twisted_client/_methods.py",
)


def _generate(script: str, out_dir: Path) -> None:
    subprocess.run([sys.executable, str(PACKAGE / "scripts" / script), str(out_dir)], check=True)


def test_generated_code_is_fresh(tmp_path: Path) -> None:
    _generate("generate.py", tmp_path)
    fresh = sorted((tmp_path / "warden/protocol/pb").iterdir())
    assert fresh, "protoc produced nothing"
    committed = PACKAGE / "src/warden/protocol/pb"
    stale = [p.name for p in fresh if (committed / p.name).read_bytes() != p.read_bytes()]
    assert not stale, f"run `make proto`: stale generated files {stale}"
    protos = {p.stem for p in committed.glob("*.proto")}
    assert protos == {p.name.removesuffix("_pb2.py") for p in fresh if p.suffix == ".py"}


def test_client_methods_are_fresh(tmp_path: Path) -> None:
    _generate("generate_methods.py", tmp_path)
    written = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*.py"))
    assert written == sorted(CLIENT_METHODS), "the generator writes elsewhere: update this test"
    stale = [
        path
        for path in CLIENT_METHODS
        if (REPOSITORY / path).read_text() != (tmp_path / path).read_text()
    ]
    assert not stale, f"run `make proto`: stale generated files {stale}"
