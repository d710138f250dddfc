"""Regenerate warden/protocol/pb/*_pb2.py(i) from the .proto files.

Usage: python scripts/generate.py [OUTPUT_DIR]   (default: src, in place)
Needs grpcio-tools (pinned in the test extra, so output is reproducible).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent / "src"
PB = Path("warden/protocol/pb")


def generate(out_dir: Path) -> None:
    """Run protoc for every .proto file into out_dir (a src-like tree)."""
    protos = sorted(str(p.relative_to(ROOT)) for p in (ROOT / PB).glob("*.proto"))
    with tempfile.TemporaryDirectory() as tmp:
        args = ["protoc", f"-I{ROOT}", f"--python_out={tmp}", f"--pyi_out={tmp}", *protos]
        if protoc.main(args) != 0:
            raise SystemExit("protoc failed")
        (out_dir / PB).mkdir(parents=True, exist_ok=True)
        for produced in (Path(tmp) / PB).iterdir():
            shutil.copy(produced, out_dir / PB / produced.name)


if __name__ == "__main__":
    generate(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT)
