"""The content-addressed blob store and evidence-pack verification."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import CliRunner

from ledger import BlobNotFound, BlobStore, verify_evidence


def test_put_bytes_gives_sha256_path(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "blobs")
    data = b"hello blobs\n"
    digest = store.put(data)
    assert digest == hashlib.sha256(data).hexdigest()
    path = tmp_path / "blobs" / "sha256" / digest[:2] / digest[2:]
    assert store.path(digest) == path and path.read_bytes() == data
    assert store.has(digest) and store.read(digest) == data


def test_put_path_and_idempotence(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "blobs")
    source = tmp_path / "big.bin"
    payload = bytes(range(256)) * 9000  # > one copy block
    source.write_bytes(payload)
    digest = store.put(source)
    assert digest == hashlib.sha256(payload).hexdigest()
    assert store.put(str(source)) == digest == store.put(payload)
    files = [p for p in (tmp_path / "blobs" / "sha256").rglob("*") if p.is_file()]
    assert files == [store.path(digest)]
    assert not list((tmp_path / "blobs" / "tmp").iterdir())  # no staging leftovers
    assert store.read(digest) == payload


def test_missing_blob(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "blobs")
    with pytest.raises(BlobNotFound):
        store.read("ab" * 32)
    assert not store.has("ab" * 32)


def make_pack(root: Path) -> Path:
    pack = root / "pack"
    (pack / "sub").mkdir(parents=True)
    files = {"result.json": b'{"score": 1}\n', "sub/log.txt": b"line\n" * 10}
    for name, data in files.items():
        (pack / name).write_bytes(data)
    (pack / "manifest.json").write_text(json.dumps({"trial": "t1"}))
    listed = {**files, "manifest.json": (pack / "manifest.json").read_bytes()}
    (pack / "SHA256SUMS").write_text(
        "".join(f"{hashlib.sha256(d).hexdigest()}  {n}\n" for n, d in sorted(listed.items()))
    )
    return pack


def test_good_pack_is_ok(tmp_path: Path, cli: CliRunner) -> None:
    pack = make_pack(tmp_path)
    report = verify_evidence(pack)
    assert report.ok and report.files_checked == 3 and report.problems == []
    done = cli("verify-evidence", str(pack))
    assert done.returncode == 0 and done.stdout.startswith(b"ok: 3 files")


def _modify(pack: Path) -> None:
    (pack / "result.json").write_bytes(b'{"score": 2}\n')


def _remove(pack: Path) -> None:
    (pack / "sub" / "log.txt").unlink()


def _unlisted(pack: Path) -> None:
    (pack / "sub" / "extra.bin").write_bytes(b"sneaky")


def _bad_manifest(pack: Path) -> None:
    (pack / "manifest.json").write_text("{not json")
    _relist(pack)


def _manifest_not_object(pack: Path) -> None:
    (pack / "manifest.json").write_text("[1, 2]")
    _relist(pack)


def _no_manifest(pack: Path) -> None:
    (pack / "manifest.json").unlink()
    sums = (pack / "SHA256SUMS").read_text().splitlines()
    (pack / "SHA256SUMS").write_text("".join(f"{x}\n" for x in sums if "manifest" not in x))


def _no_sums(pack: Path) -> None:
    (pack / "SHA256SUMS").unlink()


def _garbled_sums(pack: Path) -> None:
    with open(pack / "SHA256SUMS", "a") as f:
        f.write("not a digest line\n")


def _relist(pack: Path) -> None:
    names = ["manifest.json", "result.json", "sub/log.txt"]
    (pack / "SHA256SUMS").write_text(
        "".join(f"{hashlib.sha256((pack / n).read_bytes()).hexdigest()}  {n}\n" for n in names)
    )


DAMAGE: dict[str, tuple[Callable[[Path], None], str]] = {
    "modified file": (_modify, "result.json: sha256 mismatch"),
    "missing file": (_remove, "sub/log.txt: listed but missing"),
    "unlisted file": (_unlisted, "sub/extra.bin: present but not listed"),
    "bad manifest json": (_bad_manifest, "manifest.json is not valid JSON"),
    "manifest not an object": (_manifest_not_object, "manifest.json is not a JSON object"),
    "no manifest": (_no_manifest, "manifest.json is missing"),
    "no SHA256SUMS": (_no_sums, "SHA256SUMS is missing"),
    "garbled SHA256SUMS line": (_garbled_sums, "SHA256SUMS line 4"),
}


@pytest.mark.parametrize("damage", list(DAMAGE), ids=list(DAMAGE))
def test_damaged_pack_fails(tmp_path: Path, damage: str) -> None:
    pack = make_pack(tmp_path)
    tamper, expected = DAMAGE[damage]
    tamper(pack)
    report = verify_evidence(pack)
    assert not report.ok
    assert any(p.startswith(expected) for p in report.problems), report.problems


def test_damaged_pack_cli_exits_1(tmp_path: Path, cli: CliRunner) -> None:
    pack = make_pack(tmp_path)
    _modify(pack)
    done = cli("verify-evidence", "--json", str(pack))
    assert done.returncode == 1
    assert json.loads(done.stdout)["problems"] == ["result.json: sha256 mismatch"]
