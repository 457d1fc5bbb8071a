"""Job work dirs: ``<root>/work/<batch>/<job_id>/``, browsable by job name.

A job's directory is named by its ``job_id`` (stable, unique, what the ledger records); beside
them ``<root>/work/<batch>/by-name/<name>`` is a relative symlink to it, so a person finds
``baseline``'s files without looking its id up. Names that are not safe file names (a ``/``,
a leading dot, over 100 characters) are sanitized and suffixed with a digest of the name.
"""

from __future__ import annotations

import os
from pathlib import Path

from projections.writers import safe_dir_name

WORK_DIR = "work"
BY_NAME_DIR = "by-name"


def work_dir_of(root: Path | str, batch: str, job_id: str) -> Path:
    """A job's private directory: ``<root>/work/<batch>/<job_id>``."""
    return Path(root) / WORK_DIR / batch / job_id


def by_name_link(work_dir: Path, name: str) -> Path:
    """Where the by-name link of the job whose work dir is ``work_dir`` lives."""
    return work_dir.parent / BY_NAME_DIR / safe_dir_name(name)


def link_by_name(work_dir: Path, name: str) -> Path:
    """Point ``by-name/<name>`` at ``work_dir`` (replacing a link to another dir); returns it.

    Only the job itself creates its link, so two writers never race for one name; the link is
    swapped in by rename, never left half made.
    """
    link = by_name_link(work_dir, name)
    target = Path("..") / work_dir.name
    if link.is_symlink() and Path(os.readlink(link)) == target:
        return link
    link.parent.mkdir(parents=True, exist_ok=True)
    tmp = link.with_name(f".{link.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(target)
    os.replace(tmp, link)
    return link
