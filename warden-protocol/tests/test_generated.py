"""The committed generated code matches the .proto files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent


def test_generated_code_is_fresh(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(PACKAGE / "scripts" / "generate.py"), str(tmp_path)], check=True
    )
    fresh = sorted((tmp_path / "warden/protocol/pb").iterdir())
    assert fresh, "protoc produced nothing"
    committed = PACKAGE / "src/warden/protocol/pb"
    stale = [p.name for p in fresh if (committed / p.name).read_bytes() != p.read_bytes()]
    assert not stale, f"run `make proto`: stale generated files {stale}"
    protos = {p.stem for p in committed.glob("*.proto")}
    assert protos == {p.name.removesuffix("_pb2.py") for p in fresh if p.suffix == ".py"}
