"""Writing evidence packs whose bytes depend only on their content.

A pack is a folder of files plus ``manifest.json`` (what the pack is, and each data file's name,
size, sha256 and media type) and ``SHA256SUMS`` (``<sha256>  <name>`` per line, sorted by name,
covering every file including the manifest), the layout ``ledger.verify_evidence`` checks.
JSON is written with sorted keys, two-space indent and a final newline; Parquet without
dictionary pages or the Arrow schema blob, so the same rows give the same bytes in every
process.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

SUMS_FILE = "SHA256SUMS"
MANIFEST_FILE = "manifest.json"
JSON_MEDIA_TYPE = "application/json"
PARQUET_MEDIA_TYPE = "application/vnd.apache.parquet"
TEXT_MEDIA_TYPE = "text/plain"


def json_bytes(value: Any) -> bytes:
    """Canonical, human-readable JSON: sorted keys, indent 2, no NaN, trailing newline."""
    text = json.dumps(value, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False)
    return (text + "\n").encode("utf-8")


def sha256_file(path: Path) -> str:
    """The hex sha256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def media_type_of(name: str) -> str:
    """The media type recorded for a pack file, from its extension."""
    if name.endswith(".json"):
        return JSON_MEDIA_TYPE
    if name.endswith(".parquet"):
        return PARQUET_MEDIA_TYPE
    return TEXT_MEDIA_TYPE


def write_json(directory: Path, name: str, value: Any) -> str:
    """Write ``value`` as canonical JSON to ``directory/name``; returns the name."""
    (directory / name).write_bytes(json_bytes(value))
    return name


def write_parquet(directory: Path, name: str, table: pa.Table) -> str:
    """Write ``table`` to ``directory/name`` with settings that keep its bytes reproducible."""
    pq.write_table(
        table,
        directory / name,
        compression="zstd",
        use_dictionary=False,
        store_schema=False,
        write_statistics=True,
    )
    return name


def seal_pack(directory: Path, data_files: list[str], about: dict[str, Any]) -> list[str]:
    """Write ``manifest.json`` (``about`` plus the data files) and ``SHA256SUMS``.

    Returns every file of the pack, ``SHA256SUMS`` last, in the order they should be stored.
    """
    names = sorted(data_files)
    files = [
        {
            "name": name,
            "size": (directory / name).stat().st_size,
            "sha256": sha256_file(directory / name),
            "media_type": media_type_of(name),
        }
        for name in names
    ]
    write_json(directory, MANIFEST_FILE, {**about, "files": files})
    listed = sorted([*names, MANIFEST_FILE])
    lines = "".join(f"{sha256_file(directory / name)}  {name}\n" for name in listed)
    (directory / SUMS_FILE).write_bytes(lines.encode("utf-8"))
    return [*listed, SUMS_FILE]
