"""Background file writes: every file lands before the block ends, and a failure surfaces."""

from __future__ import annotations

from pathlib import Path

import pytest

from projections.writers import BackgroundWrites, json_text


def test_background_writes_land_before_the_block_ends(tmp_path: Path) -> None:
    texts = {tmp_path / f"d{i % 3}" / f"f{i}.json": json_text({"i": i}) for i in range(40)}
    with BackgroundWrites() as writes:
        returned = [writes.write(path, text) for path, text in texts.items()]
    assert returned == list(texts)
    assert {p: p.read_text(encoding="utf-8") for p in texts} == texts
    assert not list(tmp_path.rglob("*.tmp"))  # no temporary file left behind


def test_a_failed_background_write_is_raised_when_the_block_ends(tmp_path: Path) -> None:
    (tmp_path / "blocker").write_text("a file where a folder should be")
    good = tmp_path / "ok.txt"
    with pytest.raises(OSError), BackgroundWrites() as writes:
        writes.write(tmp_path / "blocker" / "x.txt", "never written")
        writes.write(good, "written")
    assert good.read_text() == "written"  # the other writes still finish
