"""Files and folders of a ledger root are never group- or world-writable, whatever the umask;
sealed segments and blobs are read-only once complete."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

SCRIPT = """
import os, sys
os.umask(0)
from ledger import Ledger
ledger = Ledger.open(sys.argv[1], create=True)
ledger.append([{"type": "x.a", "data": {"i": i}} for i in range(5)])
ledger.blobs.put(b"some artifact bytes")
ledger.seal()
ledger.append([{"type": "x.b", "data": {}}])
with open(ledger.live_path, "ab") as f:
    f.write(b'{"seq":99')  # a torn tail, kept under recovered/ by the repair below
ledger.repair()
"""


def test_umask_zero_creates_nothing_writable_by_others(tmp_path: Path) -> None:
    root = tmp_path / "new" / "root"  # parents created by the ledger too
    subprocess.run([sys.executable, "-c", SCRIPT, str(root)], check=True, cwd=Path.cwd())
    seen = {"segment": 0, "blob": 0, "recovered": 0}
    for path in [root.parent, root, *root.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert not mode & 0o022, (path, oct(mode))
        if path.suffix == ".parquet":
            assert mode == 0o444, path
            seen["segment"] += 1
        elif "sha256" in path.parts and path.is_file():
            assert mode == 0o444, path
            seen["blob"] += 1
        elif "recovered" in path.parts and path.is_file():
            seen["recovered"] += 1
    assert all(seen.values()), seen
