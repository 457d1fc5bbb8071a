"""Background file writes: every file lands before the block ends, and a failure surfaces.
Files written in pieces (``write_atomic_pieces``, ``BackgroundWrites.stream``): the same bytes
and the same recorded size and SHA-256 as written whole; a failure leaves no file."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from hashlib import sha256
from pathlib import Path

import pytest

from projections.files import Output, recording, write_atomic, write_atomic_pieces
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


# --- files written in pieces -----------------------------------------------------------------

PIECES = [b"", b"first line\n", "é\u2028 ünïcode\n".encode(), b"x" * 100_000, b"\n" * 7, b"end"]


def _recorded(path: Path, write: Callable[[Path], object]) -> Output:
    with recording() as log:
        write(path)
    found = log.get(path)
    assert found is not None
    return found


def test_a_file_written_in_pieces_is_the_file_written_whole(tmp_path: Path) -> None:
    whole = b"".join(PIECES)
    one = _recorded(tmp_path / "whole", lambda p: write_atomic(p, whole))
    views = [memoryview(p) for p in PIECES]
    two = _recorded(tmp_path / "pieces", lambda p: write_atomic_pieces(p, iter(views)))

    def streamed(path: Path) -> None:
        with BackgroundWrites() as writes:
            stream = writes.stream(path, depth=1)  # the producer waits on the writer
            for piece in views * 3:
                stream.add(piece)
            stream.close()

    three = _recorded(tmp_path / "streamed", streamed)
    assert (tmp_path / "pieces").read_bytes() == (tmp_path / "whole").read_bytes() == whole
    assert (tmp_path / "streamed").read_bytes() == whole * 3
    assert (
        (one.size, one.sha256) == (two.size, two.sha256) == (len(whole), sha256(whole).hexdigest())
    )
    assert (three.size, three.sha256) == (3 * len(whole), sha256(whole * 3).hexdigest())
    assert not list(tmp_path.rglob("*.tmp"))


def _failing_pieces() -> Iterator[bytes]:
    yield b"new bytes, never seen\n"
    raise ValueError("rendering failed")


def test_a_failure_while_writing_pieces_leaves_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    path.write_bytes(b"old\n")
    with recording() as log, pytest.raises(ValueError, match="rendering failed"):
        write_atomic_pieces(path, _failing_pieces())
    assert path.read_bytes() == b"old\n"
    assert log.outputs() == [] and not list(tmp_path.rglob("*.tmp"))


def test_an_error_while_streaming_aborts_the_stream(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    path.write_bytes(b"old\n")
    fresh = tmp_path / "fresh.jsonl"
    failing = pytest.raises(ValueError, match="rendering failed")
    with recording() as log, failing, BackgroundWrites() as writes:
        stream, other = writes.stream(path, depth=2), writes.stream(fresh)
        for piece in _failing_pieces():
            stream.add(piece)
            other.add(piece)
    assert path.read_bytes() == b"old\n" and not fresh.exists()
    assert log.outputs() == [] and not list(tmp_path.rglob("*.tmp"))


def test_a_failed_stream_is_raised_and_does_not_block_its_producer(tmp_path: Path) -> None:
    (tmp_path / "blocker").write_text("a file where a folder should be")
    with pytest.raises(OSError), BackgroundWrites() as writes:
        stream = writes.stream(tmp_path / "blocker" / "x.jsonl", depth=1)
        for _ in range(50):  # far more than the queue holds: the failed writer drains it
            stream.add(b"piece\n")
        stream.close()
    assert not list(tmp_path.rglob("*.tmp"))


def test_a_stream_left_open_is_not_written(tmp_path: Path) -> None:
    path = tmp_path / "open.jsonl"
    with pytest.raises(RuntimeError, match="left open"), BackgroundWrites() as writes:
        writes.stream(path).add(b"half a file\n")
    assert not path.exists() and not list(tmp_path.rglob("*.tmp"))


def test_a_stream_the_log_does_not_want_is_not_written(tmp_path: Path) -> None:
    wanted, other = tmp_path / "wanted", tmp_path / "other"
    with recording(only=[wanted]) as log, BackgroundWrites() as writes:
        for path in (wanted, other):
            stream = writes.stream(path, depth=1)
            for piece in PIECES * 4:
                stream.add(piece)
            stream.close()
    assert wanted.read_bytes() == b"".join(PIECES * 4) and not other.exists()
    assert [o.path for o in log.outputs()] == [wanted]
