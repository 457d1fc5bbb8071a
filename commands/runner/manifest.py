"""Loading a manifest: YAML -> ``schemas.Manifest`` -> the expanded, ordered list of jobs.

Every problem is a ``schemas.ManifestInvalid`` (exit 2) whose one-line message names the file
and the offending key or callable, raised before anything is written to the ledger.
"""

from __future__ import annotations

import hashlib
import importlib
import itertools
import json
import math
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from commands.runner.command_job import CommandSpec, OutputSpec, job_values
from commands.runner.templating import TemplateError, check_names
from ledger import InputFileRefused, read_input_file
from schemas import COMMAND_KEYS, Manifest, ManifestInvalid, OutputFile

JOB_ID_HEX = 16
DEFAULT_KIND = "job"
USERS_KIND = "scan"
USER_PARAM = "user"
MATRIX_PREFIX = "matrix"
SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available
# A manifest file is read up to this size; YAML aliases may expand it to at most
# MAX_YAML_NODES nodes (each use of an alias counted in full): "billion laughs" is refused.
MAX_MANIFEST_BYTES = 64 << 20
MAX_YAML_NODES = 1_000_000
# More jobs than this in one batch (after --max-jobs) need --allow-large.
MAX_JOBS = 1_000_000
_MERGE_TAG = "tag:yaml.org,2002:merge"


@dataclass(frozen=True, slots=True)
class JobPlan:
    """One expanded job: its position in the manifest, unique name, parameters and stable id."""

    index: int
    name: str
    params: dict[str, Any]
    job_id: str


@dataclass(frozen=True)
class LoadedManifest:
    """A validated manifest with its jobs expanded in manifest order."""

    path: Path
    manifest: Manifest
    kind: str
    jobs: list[JobPlan]
    users_file: Path | None

    @property
    def steps(self) -> tuple[str, ...]:
        """The sub-steps each job records (``<step>.intent`` / ``.outcome`` pairs)."""
        return tuple(self.manifest.steps)

    @property
    def folder(self) -> Path:
        """The manifest's own folder: importable for a callable, a command's working dir."""
        return self.path.parent

    def expanded(self, jobs: list[JobPlan] | None = None) -> dict[str, Any]:
        """The fully expanded manifest as recorded in ``batch.started``."""
        m = self.manifest
        body: dict[str, Any] = {
            "name": m.name,
            "callable": m.callable,
            "kind": self.kind,
            "setup": m.setup,
            "params": m.params,
            "config": m.config.model_dump(exclude_none=True),
            "users_file": str(self.users_file) if self.users_file else None,
            **({"steps": list(m.steps)} if m.steps else {}),
            "jobs": [
                {"index": j.index, "name": j.name, "job_id": j.job_id, "params": j.params}
                for j in (self.jobs if jobs is None else jobs)
            ],
        }
        if m.command is not None:
            body.update(m.model_dump(include=set(COMMAND_KEYS) | {"command"}))
        if m.study is not None:
            body["study"] = m.study.model_dump(exclude_none=True)
        return body

    def command_spec(self, timeout_s: float | None) -> CommandSpec | None:
        """What workers need to run this manifest's command (None for a callable)."""
        m = self.manifest
        if m.command is None:
            return None
        argv = (m.command,) if isinstance(m.command, str) else tuple(m.command)
        return CommandSpec(
            argv=argv,
            shell=m.shell,
            env=tuple((name, _env_template(value)) for name, value in m.env.items()),
            cwd=str(self.folder.resolve()),
            metrics_from=_output_spec(m.metrics_from),
            result_from=_output_spec(m.result_from),
            artifacts=tuple(m.artifacts),
            verify_evidence=m.verify_evidence,
            timeout_s=timeout_s,
        )


def _env_template(value: str | int | float | bool) -> str:
    """An env value as a template: strings as written, numbers and booleans as JSON."""
    return value if isinstance(value, str) else json.dumps(value)


def _output_spec(value: OutputFile | None) -> OutputSpec | None:
    return None if value is None else OutputSpec(value.path, value.key)


def canonical_json(value: Any) -> str:
    """Sorted-key, compact JSON: the form ids and digests are computed over."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def job_id_of(target: str | dict[str, Any], params: dict[str, Any]) -> str:
    """A stable id for (callable, params), or (command, params) when ``target`` is a
    ``job_target`` dict: the same job has the same id in every batch."""
    identity = {"callable": target} if isinstance(target, str) else dict(target)
    text = canonical_json({**identity, "params": params})
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:JOB_ID_HEX]


def job_target(manifest: Manifest) -> str | dict[str, Any]:
    """What a job runs, as its id covers it: the callable, or the command with its shell
    flag and env templates (the same params under another command are another job)."""
    if manifest.command is None:
        assert manifest.callable is not None  # the model allows exactly one of the two
        return manifest.callable
    return {"command": manifest.command, "shell": manifest.shell, "env": manifest.env}


def job_seed(base_seed: int, job_id: str) -> int:
    """The seed a job gets: derived from the batch seed and the job id, not its position."""
    digest = hashlib.sha256(f"{base_seed}:{job_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def manifest_sha256(expanded: dict[str, Any]) -> str:
    """The digest of an expanded manifest's canonical JSON."""
    return hashlib.sha256(canonical_json(expanded).encode("utf-8")).hexdigest()


def _check_json(value: Any, where: str) -> None:
    """Refuse values the ledger cannot carry (YAML dates, sets, NaN, non-string keys)."""
    if value is None or isinstance(value, bool | int | str):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ManifestInvalid(f"{where}: non-finite number is not allowed")
        return
    if isinstance(value, list):
        for i, item in enumerate(value):
            _check_json(item, f"{where}.{i}")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ManifestInvalid(f"{where}: key {key!r} must be a string")
            _check_json(item, f"{where}.{key}")
        return
    raise ManifestInvalid(f"{where}: {type(value).__name__} values are not allowed")


def _describe(error: ValidationError) -> str:
    first = error.errors(include_url=False)[0]
    where = ".".join(str(part) for part in first["loc"]) or "manifest"
    if first["type"] == "extra_forbidden":
        return f"{where}: unknown key"
    if first["type"] == "missing":
        return f"{where}: required key is missing"
    if first["type"] == "value_error":
        return f"{where}: {first['ctx']['error']}"
    return f"{where}: {first['msg']}"


def _check_relative(value: str, where: str) -> None:
    """Refuse a work-dir path or glob that is absolute or climbs out of the work dir."""
    parts = Path(value).parts
    if not parts or Path(value).is_absolute() or ".." in parts:
        raise ManifestInvalid(f"{where}: {value!r} must be a path inside the work dir")


def check_command(loaded: LoadedManifest) -> None:
    """Check a command manifest's paths and every job's templates before anything runs.

    Raises:
        ManifestInvalid: a path outside the work dir, an unknown template name, a bad field.
    """
    spec = loaded.command_spec(None)
    if spec is None:
        return
    where = f"manifest {loaded.path}"
    for key in ("metrics_from", "result_from"):
        output = getattr(spec, key)
        if output is not None:
            _check_relative(output.path, f"{where}: {key}")
    for pattern in spec.artifacts:
        _check_relative(pattern, f"{where}: artifacts")
    if spec.verify_evidence is not None:
        _check_relative(spec.verify_evidence, f"{where}: verify_evidence")
    templates = spec.templates()
    for job in loaded.jobs:
        try:
            check_names(templates, job.params)
            values = job_values(job.params, "/root", "batch", job.job_id, job.name, job.index, 0)
            spec.rendered(values)
        except TemplateError as e:
            raise ManifestInvalid(f"{where}: job {job.name!r}: command {e}") from e


class ManifestLoader(SAFE_LOADER):  # type: ignore[misc]
    """PyYAML's safe loader, refusing a key given twice in one mapping (never last-wins; the
    keys a ``<<`` merge brings may still be overridden) and a document whose aliases expand
    past ``MAX_YAML_NODES`` nodes or refer to themselves."""

    def construct_document(self, node: yaml.Node) -> Any:
        _check_expansion(node)
        return super().construct_document(node)

    def construct_mapping(self, node: yaml.Node, deep: bool = False) -> Any:
        if isinstance(node, yaml.MappingNode):
            seen: set[Any] = set()
            for key_node, _ in node.value:
                if key_node.tag == _MERGE_TAG:
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    duplicate = key in seen
                    seen.add(key)
                except TypeError:
                    continue  # an unhashable key: the base constructor names it
                if duplicate:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"key {key!r} is given twice", key_node.start_mark
                    )
        return super().construct_mapping(node, deep)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _check_expansion(root: yaml.Node) -> None:
    """Count the nodes of ``root`` as if every alias were copied out, without copying (each
    distinct node is visited once, its expanded size remembered).

    Raises:
        ManifestInvalid: more than ``MAX_YAML_NODES`` nodes, or an alias inside itself.
    """
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            open_nodes.discard(key)
            sizes[key] = 1 + sum(sizes[id(child)] for child in _children(node))
            if sizes[key] > MAX_YAML_NODES:
                raise ManifestInvalid(
                    f"line {node.start_mark.line + 1}: YAML aliases expand past "
                    f"{MAX_YAML_NODES:,} nodes"
                )
            continue
        if key in sizes:
            continue
        if key in open_nodes:
            raise ManifestInvalid(
                f"line {node.start_mark.line + 1}: a YAML alias refers to a node inside itself"
            )
        open_nodes.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node) if id(child) not in sizes)


def _format_axis_value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def matrix_name(combo: dict[str, Any]) -> str:
    """A matrix job's name from its axes: ``matrix_min_leaf_size20_semantic_threshold0.1``."""
    parts = [f"{axis}{_format_axis_value(value)}" for axis, value in combo.items()]
    return "_".join([MATRIX_PREFIX, *parts])


def read_users(path: Path) -> list[str]:
    """Handles from a users file: one per non-blank line, ``#`` lines are comments."""
    try:
        text = read_input_file(path, MAX_MANIFEST_BYTES).decode("utf-8")
    except InputFileRefused as e:
        raise ManifestInvalid(f"users file {e}") from e
    except UnicodeDecodeError as e:
        raise ManifestInvalid(f"users file {path}: not UTF-8 text (byte {e.start})") from e
    lines = (line.strip() for line in text.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def count_jobs(manifest: Manifest, users: list[str] | None = None) -> int:
    """How many jobs ``manifest`` expands to, without expanding it."""
    matrix = 0
    if manifest.matrix is not None:
        matrix = math.prod(len(values) for values in manifest.matrix.axes.values())
    return len(manifest.jobs) + matrix + len(users or [])


def _named_jobs(
    manifest: Manifest, users: list[str] | None
) -> Iterator[tuple[str, dict[str, Any]]]:
    """(name, params) of every job in manifest order, one at a time."""
    for job in manifest.jobs:
        yield job.name, {**manifest.params, **job.params}
    if manifest.matrix is not None:
        base = {**manifest.params, **manifest.matrix.base_params}
        axes = manifest.matrix.axes
        for combination in itertools.product(*axes.values()):
            combo = dict(zip(axes, combination, strict=True))
            yield matrix_name(combo), {**base, **combo}
    for handle in users or []:
        yield handle, {**manifest.params, USER_PARAM: handle}


def expand_jobs(
    manifest: Manifest,
    users: list[str] | None = None,
    max_jobs: int | None = None,
    allow_large: bool = False,
) -> list[JobPlan]:
    """Explicit jobs, then the matrix (first axis slowest), then one job per user handle.

    Only the first ``max_jobs`` are built (the matrix is expanded lazily), and more than
    ``MAX_JOBS`` of them are refused unless ``allow_large``; names and ids are checked
    unique among the jobs built.

    Raises:
        ManifestInvalid: an empty axis, too many jobs, a name or params used twice.
    """
    if manifest.matrix is not None:
        for axis, values in manifest.matrix.axes.items():
            if not values:
                raise ManifestInvalid(f"matrix.axes.{axis}: needs at least one value")
    total = count_jobs(manifest, users)
    wanted = total if max_jobs is None else min(total, max_jobs)
    if wanted > MAX_JOBS and not allow_large:
        raise ManifestInvalid(
            f"{wanted:,} jobs are more than {MAX_JOBS:,} (pass --allow-large to run them, "
            "or --max-jobs N)"
        )
    jobs: list[JobPlan] = []
    names: dict[str, int] = {}
    ids: dict[str, str] = {}
    target = job_target(manifest)
    for index, (name, params) in enumerate(itertools.islice(_named_jobs(manifest, users), wanted)):
        _check_json(params, f"jobs.{name}.params")
        if name in names:
            raise ManifestInvalid(
                f"job name {name!r} is used twice (jobs {names[name]} and {index})"
            )
        job_id = job_id_of(target, params)
        if job_id in ids:
            raise ManifestInvalid(f"jobs {ids[job_id]!r} and {name!r} have the same params")
        names[name] = index
        ids[job_id] = name
        jobs.append(JobPlan(index=index, name=name, params=params, job_id=job_id))
    return jobs


def ensure_importable(folder: Path) -> None:
    """Put the manifest's folder first on ``sys.path`` (once)."""
    entry = str(folder.resolve())
    if entry not in sys.path:
        sys.path.insert(0, entry)


def resolve_callable(ref: str, what: str = "callable") -> Callable[..., Any]:
    """Import ``module:function``; a failure is one line naming the reference.

    Raises:
        ManifestInvalid: the module cannot be imported or has no such callable attribute.
    """
    module_name, _, attr = ref.partition(":")
    try:
        module = importlib.import_module(module_name)
    except Exception as e:
        detail = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ManifestInvalid(f"{what} {ref!r}: cannot import {module_name!r}: {detail}") from e
    target = getattr(module, attr, None)
    if target is None:
        raise ManifestInvalid(f"{what} {ref!r}: module {module_name!r} has no {attr!r}")
    if not callable(target):
        raise ManifestInvalid(f"{what} {ref!r}: {attr!r} is not callable")
    return target  # type: ignore[no-any-return]


def parse_manifest(path: Path) -> Manifest:
    """Read and validate a manifest file (no expansion, no imports).

    Raises:
        ManifestInvalid: unreadable (or not a regular file, or over ``MAX_MANIFEST_BYTES``),
            not UTF-8, bad YAML, a duplicate key, aliases expanding too far, nesting too deep,
            or not matching the model.
    """
    try:
        data = read_input_file(path, MAX_MANIFEST_BYTES)
        text = data.decode("utf-8")
    except InputFileRefused as e:
        raise ManifestInvalid(f"manifest {e}") from e
    except UnicodeDecodeError as e:
        raise ManifestInvalid(f"manifest {path}: not UTF-8 text (byte {e.start})") from e
    try:
        raw = yaml.load(text, Loader=ManifestLoader)
    except ManifestInvalid as e:
        raise ManifestInvalid(f"manifest {path}: {e}") from e
    except RecursionError as e:
        raise ManifestInvalid(f"manifest {path}: nested too deeply") from e
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(e, "problem", None) or "invalid YAML"
        raise ManifestInvalid(f"manifest {path}:{where}: {problem}") from e
    return manifest_from_data(raw, path)


def manifest_from_data(raw: Any, path: Path) -> Manifest:
    """Validate an already parsed manifest (``path`` names it in messages)."""
    if not isinstance(raw, dict):
        raise ManifestInvalid(f"manifest {path}: expected a mapping at the top level")
    try:
        return Manifest.model_validate(raw)
    except ValidationError as e:
        raise ManifestInvalid(f"manifest {path}: {_describe(e)}") from e


def load_manifest(
    path: Path,
    users_file: Path | None = None,
    max_jobs: int | None = None,
    allow_large: bool = False,
    manifest: Manifest | None = None,
) -> LoadedManifest:
    """Validate, expand and import-check a manifest; ``users_file`` overrides the manifest's.

    Only the first ``max_jobs`` jobs are expanded (see ``expand_jobs``); ``manifest`` is the
    already parsed file, when the caller has it.

    Raises:
        ManifestInvalid: bad YAML, unknown key, wrong type, unimportable callable, no jobs,
            more than ``MAX_JOBS`` jobs without ``allow_large``.
    """
    path = Path(path)
    manifest = manifest if manifest is not None else parse_manifest(path)
    return load_parsed(manifest, path, users_file, max_jobs, allow_large)


def load_parsed(
    manifest: Manifest,
    path: Path,
    users_file: Path | None = None,
    max_jobs: int | None = None,
    allow_large: bool = False,
) -> LoadedManifest:
    """``load_manifest`` for a manifest already validated; ``path`` places it (its folder is
    the callable's import path and a command's working directory).

    Raises:
        ManifestInvalid: unimportable callable, no jobs, a bad command template, more than
            ``MAX_JOBS`` jobs without ``allow_large``.
    """
    try:
        for key, value in manifest.params.items():
            _check_json(value, f"params.{key}")
        if users_file is None and manifest.users_file is not None:
            users_file = path.parent / manifest.users_file
        users = read_users(users_file) if users_file is not None else None
        jobs = expand_jobs(manifest, users, max_jobs, allow_large)
    except RecursionError as e:
        raise ManifestInvalid(f"manifest {path}: nested too deeply") from e
    if not jobs:
        raise ManifestInvalid(f"manifest {path}: no jobs (give jobs, matrix or users_file)")
    kind = manifest.kind or (USERS_KIND if users_file is not None else DEFAULT_KIND)
    if kind in manifest.steps:
        raise ManifestInvalid(f"manifest {path}: steps: {kind!r} is the jobs' own kind")
    loaded = LoadedManifest(
        path=path, manifest=manifest, kind=kind, jobs=jobs, users_file=users_file
    )
    if manifest.callable is None:
        check_command(loaded)
        return loaded
    ensure_importable(path.parent)
    resolve_callable(manifest.callable)
    if manifest.setup is not None:
        resolve_callable(manifest.setup, "setup")
    return loaded
