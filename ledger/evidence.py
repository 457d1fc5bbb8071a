"""Evidence packs: a folder with ``SHA256SUMS`` (sha256sum format) and ``manifest.json``."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

SUMS_FILE = "SHA256SUMS"
MANIFEST_FILE = "manifest.json"
_BLOCK = 1 << 20


@dataclass
class EvidenceReport:
    """The outcome of checking an evidence pack; ``ok`` when ``problems`` is empty."""

    path: str
    files_checked: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(_BLOCK):
            h.update(block)
    return h.hexdigest()


def _parse_sums(text: str, report: EvidenceReport) -> dict[str, str]:
    entries: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        digest, sep, name = raw.partition(" ")
        name = name[1:] if name[:1] in (" ", "*") else name
        if (
            not sep
            or len(digest) != 64
            or not name
            or any(c not in "0123456789abcdef" for c in digest.lower())
        ):
            report.problems.append(f"{SUMS_FILE} line {number}: not '<sha256>  <file>'")
            continue
        entries[name] = digest.lower()
    return entries


def verify_evidence(path: Path | str) -> EvidenceReport:
    """Check that every file listed in SHA256SUMS exists with that digest, that every file
    of the pack is listed, and that manifest.json is a JSON object.
    """
    root = Path(path)
    report = EvidenceReport(str(root))
    if not root.is_dir():
        report.problems.append(f"{root} is not a directory")
        return report
    sums_path = root / SUMS_FILE
    if not sums_path.is_file():
        report.problems.append(f"{SUMS_FILE} is missing")
        return report
    entries = _parse_sums(sums_path.read_text(encoding="utf-8", errors="replace"), report)
    manifest_path = root / MANIFEST_FILE
    if not manifest_path.is_file():
        report.problems.append(f"{MANIFEST_FILE} is missing")
    else:
        try:
            if not isinstance(json.loads(manifest_path.read_text(encoding="utf-8")), dict):
                report.problems.append(f"{MANIFEST_FILE} is not a JSON object")
        except (ValueError, UnicodeDecodeError) as e:
            report.problems.append(f"{MANIFEST_FILE} is not valid JSON: {e}")
        except RecursionError:
            report.problems.append(f"{MANIFEST_FILE} is not valid JSON: nested too deeply")
    for name in sorted(entries):
        target = (root / name).resolve()
        if root.resolve() not in target.parents:
            report.problems.append(f"{name}: outside the pack")
            continue
        if not target.is_file():
            report.problems.append(f"{name}: listed but missing")
            continue
        report.files_checked += 1
        if _digest(target) != entries[name]:
            report.problems.append(f"{name}: sha256 mismatch")
    on_disk = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()} - {SUMS_FILE}
    for name in sorted(on_disk - set(entries)):
        report.problems.append(f"{name}: present but not listed in {SUMS_FILE}")
    return report
