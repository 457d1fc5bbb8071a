"""The Merkle index over the ledger and signed checkpoints, through the library.

Expected roots are computed with ``ledger.merkle.root`` over the stored lines read straight from
the files (live JSONL by hand, segments through pyarrow), never through the index under test.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from ledger_helpers import (
    COMMITS,
    commit_record,
    example_events,
    live_lines,
    relink,
    stored_hash,
    write_live,
)

from ledger import (
    CheckpointRefused,
    KeyFileError,
    Ledger,
    MerkleIndex,
    generate_keys,
    load_private_key,
    load_public_key,
    make_checkpoint,
    tree_root,
    verify_signed,
)
from ledger.checkpoints import signed_text
from ledger.merkle import leaf_hash, root
from ledger.merkle_index import MERKLE_DIR
from ledger.merkle_store import STORE_FILE


def stored_lines(root_dir: Path) -> list[bytes]:
    """Every committed line in seq order, read from the files directly."""
    lines: list[bytes] = []
    segments = sorted((root_dir / "segments").glob("seg-*.parquet"))
    for segment in segments:
        lines += [bytes(raw) for raw in pq.read_table(segment, columns=["raw"])["raw"].to_pylist()]
    for line in live_lines(root_dir):
        seq = int(line[len(b'{"seq":') : line.index(b",")])
        if seq > len(lines):
            lines.append(line.rstrip(b"\n"))
    return lines


def expected_root(root_dir: Path, size: int | None = None) -> str:
    lines = stored_lines(root_dir)
    lines = lines if size is None else lines[:size]
    return root([leaf_hash(line) for line in lines]).hex()


def build(root_dir: Path, events: int, per_call: int = 7) -> Ledger:
    ledger = Ledger.open(root_dir, create=True)
    for start in range(0, events, per_call):
        ledger.append(example_events(min(per_call, events - start), start=start))
    return ledger


def test_root_matches_reference_every_size(tmp_path: Path) -> None:
    ledger = build(tmp_path / "root", 23)
    for size in range(24):
        assert tree_root(ledger, size) == (size, expected_root(ledger.root, size))


def test_root_after_seal_and_catch_up(tmp_path: Path) -> None:
    ledger = build(tmp_path / "root", 40)
    assert tree_root(ledger)[1] == expected_root(ledger.root)
    ledger.seal()  # events 1..40 into a segment, seq 41 is ledger.sealed
    ledger.append(example_events(5, start=100))
    assert tree_root(ledger) == (46, expected_root(ledger.root))
    ledger.seal()
    ledger.append(example_events(300, start=200))
    with MerkleIndex.open(ledger) as index:
        assert index.size == 347
    assert tree_root(ledger) == (347, expected_root(ledger.root))
    assert tree_root(ledger, 41) == (41, expected_root(ledger.root, 41))


def test_cold_index_over_sealed_and_live_matches(tmp_path: Path) -> None:
    ledger = build(tmp_path / "root", 70)
    ledger.seal()
    ledger.append(example_events(9, start=500))
    assert not (ledger.root / MERKLE_DIR).exists()
    assert tree_root(ledger) == (80, expected_root(ledger.root))


@pytest.mark.parametrize("damage", ["header", "truncate", "garbage"])
def test_damaged_store_is_rebuilt(tmp_path: Path, damage: str) -> None:
    ledger = build(tmp_path / "root", 30)
    tree_root(ledger)
    path = ledger.root / MERKLE_DIR / STORE_FILE
    data = bytearray(path.read_bytes())
    if damage == "header":
        data[0] ^= 0xFF
    elif damage == "truncate":
        del data[100:]
    else:
        data = bytearray(os.urandom(len(data)))
    path.write_bytes(bytes(data))
    ledger.append(example_events(3, start=90))
    assert tree_root(ledger) == (33, expected_root(ledger.root))


def test_store_of_a_replaced_ledger_is_rebuilt(tmp_path: Path) -> None:
    first = build(tmp_path / "a", 20)
    tree_root(first)
    other = build(tmp_path / "b", 12, per_call=12)  # a different ledger, fewer events
    index_dir = first.root / MERKLE_DIR
    (other.root / MERKLE_DIR).mkdir()
    for name in os.listdir(index_dir):
        (other.root / MERKLE_DIR / name).write_bytes((index_dir / name).read_bytes())
    assert tree_root(other) == (12, expected_root(other.root))
    same_size = build(tmp_path / "c", 20, per_call=20)  # same size, other bytes
    (same_size.root / MERKLE_DIR).mkdir()
    (same_size.root / MERKLE_DIR / STORE_FILE).write_bytes((index_dir / STORE_FILE).read_bytes())
    assert tree_root(same_size) == (20, expected_root(same_size.root))


def test_concurrent_catch_ups_agree(tmp_path: Path) -> None:
    import multiprocessing

    ledger = build(tmp_path / "root", 3000, per_call=1000)
    context = multiprocessing.get_context("spawn")
    with context.Pool(4) as pool:
        results = pool.map(_root_in_process, [str(ledger.root)] * 4)
    assert set(results) == {expected_root(ledger.root)}


def _root_in_process(path: str) -> str:
    return tree_root(Ledger.open(path))[1]


def test_keygen_modes_and_refuses_overwrite(tmp_path: Path) -> None:
    private, public = generate_keys(tmp_path / "ci")
    assert private.stat().st_mode & 0o777 == 0o600
    assert (private.name, public.name) == ("ci.key", "ci.pub")
    assert private.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    before = private.read_bytes()
    with pytest.raises(KeyFileError, match="refusing to overwrite"):
        generate_keys(tmp_path / "ci")
    assert private.read_bytes() == before
    with pytest.raises(KeyFileError):
        load_private_key(public)
    with pytest.raises(KeyFileError):
        load_public_key(tmp_path / "missing.pub")


def test_checkpoint_signs_documented_text(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    private, public = generate_keys(tmp_path / "ci")
    ledger = build(tmp_path / "root", 12)
    made = make_checkpoint(ledger, load_private_key(private))
    assert (made.seq, made.size, made.root) == (13, 12, expected_root(ledger.root, 12))
    event = next(ledger.read(since=12))
    assert event.type == "ledger.checkpoint" and event.data == made.payload()
    first_hash = stored_hash(live_lines(ledger.root)[0])
    assert made.ledger_id == first_hash
    text = f"sweepledger-checkpoint/v1\n{first_hash}\n12\n{made.root}\n".encode()
    assert signed_text(made.ledger_id, 12, made.root) == text
    key = load_public_key(public)
    key.verify(bytes.fromhex(made.signature), text)  # raises if the signature is wrong
    raw = key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    assert made.key_id == hashlib.sha256(raw).hexdigest()[:16]


def test_checkpoint_of_empty_ledger_is_refused(tmp_path: Path) -> None:
    private, _ = generate_keys(tmp_path / "ci")
    with pytest.raises(CheckpointRefused):
        make_checkpoint(Ledger.open(tmp_path / "root", create=True), load_private_key(private))


def forge(root_dir: Path, seq: int) -> None:
    """Rewrite event ``seq``'s data and re-chain every later event and the commit log."""
    lines = live_lines(root_dir)
    prev = stored_hash(lines[seq - 2]) if seq > 1 else "0" * 64
    for index in range(seq - 1, len(lines)):
        line = lines[index]
        if index == seq - 1:
            changed = line.replace(b'"text":"item', b'"text":"ITEM')
            assert changed != line
            line = changed
        lines[index] = relink(line, prev)
        prev = stored_hash(lines[index])
    write_live(root_dir, lines)
    (root_dir / COMMITS).write_bytes(commit_record(len(lines), prev))


def test_consistent_forgery_fails_only_with_pubkey(tmp_path: Path) -> None:
    private, public = generate_keys(tmp_path / "ci")
    ledger = build(tmp_path / "root", 20)
    signer = load_private_key(private)
    make_checkpoint(ledger, signer)  # seq 21, size 20
    ledger.append(example_events(5, start=50))
    make_checkpoint(ledger, signer)  # seq 27, size 26
    assert verify_signed(ledger, load_public_key(public)).ok
    tree_root(ledger)  # a store that the forgery makes stale
    forge(ledger.root, 7)
    assert ledger.verify().ok  # the chain is consistent again
    report = verify_signed(ledger, load_public_key(public))
    assert not report.ok and report.first_bad_seq == 21, report
    assert "checkpoint seq 21" in (report.problem or "")
    assert "history under the checkpoint was changed" in (report.problem or "")


def test_forgery_after_first_checkpoint_names_the_second(tmp_path: Path) -> None:
    private, public = generate_keys(tmp_path / "ci")
    ledger = build(tmp_path / "root", 20)
    signer = load_private_key(private)
    make_checkpoint(ledger, signer)
    ledger.append(example_events(5, start=50))
    make_checkpoint(ledger, signer)
    forge(ledger.root, 23)
    report = verify_signed(ledger, load_public_key(public))
    assert (report.ok, report.first_bad_seq) == (False, 27), report


def test_wrong_key_fails_naming_it(tmp_path: Path) -> None:
    private, _ = generate_keys(tmp_path / "ci")
    _, other_public = generate_keys(tmp_path / "other")
    ledger = build(tmp_path / "root", 10)
    made = make_checkpoint(ledger, load_private_key(private))
    report = verify_signed(ledger, load_public_key(other_public))
    assert not report.ok
    assert report.key_id is not None and report.key_id in (report.problem or "")
    assert f"seq {made.seq} (key {made.key_id})" in (report.problem or "")


def test_forged_signature_with_matching_key_id_fails(tmp_path: Path) -> None:
    private, public = generate_keys(tmp_path / "ci")
    ledger = build(tmp_path / "root", 10)
    make_checkpoint(ledger, load_private_key(private))
    lines = live_lines(ledger.root)
    line = lines[10]
    at = line.index(b'"signature":"') + len(b'"signature":"')
    flipped = line[:at] + (b"0" if line[at : at + 1] != b"0" else b"1") + line[at + 1 :]
    lines[10] = relink(flipped, stored_hash(lines[9]))
    write_live(ledger.root, lines)
    (ledger.root / COMMITS).write_bytes(commit_record(11, stored_hash(lines[10])))
    assert ledger.verify().ok
    report = verify_signed(ledger, load_public_key(public))
    assert (report.ok, report.first_bad_seq) == (False, 11)
    assert "signature does not verify" in (report.problem or "")


def test_other_keys_are_reported_not_failed(tmp_path: Path) -> None:
    private, public = generate_keys(tmp_path / "ci")
    other_private, _ = generate_keys(tmp_path / "lab")
    ledger = build(tmp_path / "root", 10)
    make_checkpoint(ledger, load_private_key(private))
    other = make_checkpoint(ledger, load_private_key(other_private))
    report = verify_signed(ledger, load_public_key(public))
    assert report.ok and report.checkpoints_checked == 1
    assert any(f"seq {other.seq}" in w and "not checked" in w for w in report.warnings)


def test_checkpoint_over_sealed_range_still_verifies(tmp_path: Path) -> None:
    private, public = generate_keys(tmp_path / "ci")
    ledger = build(tmp_path / "root", 30)
    signer = load_private_key(private)
    first = make_checkpoint(ledger, signer)
    ledger.seal()
    ledger.append(example_events(4, start=70))
    ledger.seal()
    second = make_checkpoint(ledger, signer)
    report = verify_signed(ledger, load_public_key(public), deep=True)
    assert report.ok and report.checkpoints_checked == 2, report
    assert first.root == expected_root(ledger.root, 30)
    assert second.root == expected_root(ledger.root, second.size)
    with MerkleIndex.open(ledger) as index:
        assert [line[:20] for line in index.checkpoint_lines] == [
            line[:20] for line in stored_lines(ledger.root) if b'"ledger.checkpoint"' in line
        ]


def test_verify_does_not_trust_the_derived_store(tmp_path: Path) -> None:
    """A forger who also plants a store holding the genuine tree still fails."""
    private, public = generate_keys(tmp_path / "ci")
    ledger = build(tmp_path / "root", 20)
    make_checkpoint(ledger, load_private_key(private))
    tree_root(ledger)
    genuine = (ledger.root / MERKLE_DIR / STORE_FILE).read_bytes()
    forge(ledger.root, 3)
    (ledger.root / MERKLE_DIR / STORE_FILE).write_bytes(genuine)
    report = verify_signed(ledger, load_public_key(public))
    assert (report.ok, report.first_bad_seq) == (False, 21)
