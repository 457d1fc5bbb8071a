"""``explain``: the tree of facts behind a result, read from the projection database.

A target names what to explain (``resolve``):

- ``123`` / ``seq:123``: the event at that seq;
- ``job:<id>`` or a bare job id: the latest intent with that job id, and its latest outcome;
- ``segment:<batch>/<segment key>``: a leaderboard segment and the scan outcomes behind it;
- ``cell:<batch>/<job name>``: a scoreboard cell, the job's last outcome (``report_jobs``);
- ``promotion:<study>/<tier>``: the latest ``promotion.decided`` of that study and tier.

Every event becomes a node (``role``, ``seq``, ``hash``, ``type``, ``ts``, ``batch``, ``key``,
``cause``, ``facts``: the payload fields that matter, ``children``) whose children are the
facts it rests on: a decision rests on its outcome and its candidate; an outcome on its intent
(its cause) and the artifacts recorded for it; an intent on its candidate and its batch's
``batch.started`` (manifest digest, git commit); a candidate on its parents. An event met a
second time (a candidate reached through two parents) is shown once more without children,
marked ``repeated``. Segments and cells are nodes without a seq.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from projections.errors import TargetNotFound

if TYPE_CHECKING:
    import duckdb

PROMOTION = "promotion.decided"
CANDIDATE = "candidate.proposed"
ARTIFACT = "artifact.recorded"
BATCH_STARTED = "batch.started"
KINDS = ("seq", "job", "segment", "cell", "promotion")
TARGET_HELP = (
    "a seq (123, seq:123), job:<id> (or a bare job id), segment:<batch>/<key>, "
    "cell:<batch>/<job name> or promotion:<study>/<tier>"
)

# The payload fields shown per event type (all of them for other types).
FACTS: dict[str, tuple[str, ...]] = {
    "intent": ("job_id", "name", "index", "callable", "command", "params", "seed"),
    "outcome": ("job_id", "status", "duration_s", "metrics", "non_finite", "artifacts", "error"),
    CANDIDATE: ("candidate_id", "study", "origin", "parents", "generation", "params", "score"),
    ARTIFACT: ("sha256", "name", "size", "media_type", "job_id"),
    BATCH_STARTED: ("name", "manifest_sha256", "jobs", "executor", "workers"),
}


def _facts(type_: str, data: dict[str, Any]) -> dict[str, Any]:
    kind = type_.rsplit(".", 1)[-1] if type_.endswith((".intent", ".outcome")) else type_
    names = FACTS.get(kind)
    facts = dict(data) if names is None else {n: data[n] for n in names if n in data}
    if type_ == BATCH_STARTED:
        code = data.get("code") or {}
        facts["git_commit"] = code.get("git_commit")
        facts["dirty"] = code.get("dirty")
    if kind == "outcome" and isinstance(facts.get("error"), dict):
        facts["error"] = {k: v for k, v in facts["error"].items() if k != "traceback"}
    return facts


class _Tree:
    """Builds nodes from the ``events`` table of an open projection database."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self.seen: set[int] = set()

    def _one(self, sql: str, params: list[Any]) -> Any:
        row = self.con.execute(sql, params).fetchone()
        return None if row is None else row[0]

    def event(self, seq: int) -> dict[str, Any] | None:
        row = self.con.execute(
            "SELECT seq, hash, type, ts, batch, key, cause, data FROM events WHERE seq = ?", [seq]
        ).fetchone()
        if row is None:
            return None
        names = ("seq", "hash", "type", "ts", "batch", "key", "cause")
        event = dict(zip(names, row[:7], strict=True))
        event["data"] = json.loads(row[7])
        return event

    def node(self, role: str, seq: int | None) -> dict[str, Any] | None:
        """The node of the event at ``seq`` and everything it rests on (None if no event)."""
        event = None if seq is None else self.event(int(seq))
        if event is None:
            return None
        data = event.pop("data")
        node = {"role": role, **event, "facts": _facts(event["type"], data), "children": []}
        if event["seq"] in self.seen:
            node["repeated"] = True
            return node
        self.seen.add(event["seq"])
        node["children"] = [c for c in self._children(event, data) if c is not None]
        return node

    def _children(self, event: dict[str, Any], data: dict[str, Any]) -> list[Any]:
        type_, seq = event["type"], event["seq"]
        if type_ == PROMOTION:
            return [self._decided_on(seq, data), self._candidate(seq, [data.get("candidate_id")])]
        if type_.endswith(".outcome"):
            cause = event["cause"]
            return [self.node("intent", cause), *self._artifacts(event, data, cause)]
        if type_.endswith(".intent"):
            ids = [data.get("job_id"), (data.get("params") or {}).get("candidate_id")]
            return [self._candidate(seq, ids), self._batch_started(event["batch"])]
        if type_ == CANDIDATE:
            parents = data.get("parents") or []
            return [self._candidate(seq, [p], "parent") for p in parents]
        if type_.startswith("batch.") and type_ != BATCH_STARTED:
            return [self._batch_started(event["batch"])]
        return [self.node("cause", event["cause"])]

    def _decided_on(self, seq: int, data: dict[str, Any]) -> dict[str, Any] | None:
        """The outcome a decision rests on: the one it names (``outcome_seq``), else the
        latest ok outcome of its trial before it."""
        named = data.get("outcome_seq")
        if named is None:
            ids = [data.get(k) for k in ("job_id", "trial_id", "candidate_id")]
            named = self._one(
                "SELECT max(seq) FROM outcomes WHERE job_id IN (SELECT unnest(?::VARCHAR[])) "
                "AND status = 'ok' AND seq < ?",
                [[i for i in ids if i], seq],
            )
        node = self.node("outcome", named)
        if node is not None and data.get("outcome_hash") is not None:
            node["facts"]["hash_as_named"] = data["outcome_hash"] == node["hash"]
        return node

    def _candidate(self, before: int, ids: list[Any], role: str = "candidate") -> Any:
        wanted = [str(i) for i in ids if i]
        if not wanted:
            return None
        found = self._one(
            f"SELECT max(seq) FROM events WHERE type = '{CANDIDATE}' AND seq < ? "
            "AND data->>'candidate_id' IN (SELECT unnest(?::VARCHAR[]))",
            [before, wanted],
        )
        return self.node(role, found)

    def _batch_started(self, batch: str | None) -> Any:
        if batch is None:
            return None
        started = self._one("SELECT started_seq FROM batches WHERE batch = ?", [batch])
        return self.node("batch", started)

    def _artifacts(
        self, event: dict[str, Any], data: dict[str, Any], cause: int | None
    ) -> list[Any]:
        """Artifacts recorded for the job: caused by its intent, or (recorded without a
        cause) naming its job id in its batch, before the outcome."""
        rows = self.con.execute(
            f"""SELECT seq FROM events WHERE type = '{ARTIFACT}' AND seq < $seq
                AND (cause = $cause OR (cause IS NULL AND batch IS NOT DISTINCT FROM $batch
                                        AND data->>'job_id' = $job))
                ORDER BY seq""",
            {
                "seq": event["seq"],
                "cause": cause,
                "batch": event["batch"],
                "job": data.get("job_id"),
            },
        ).fetchall()
        return [self.node("artifact", r[0]) for r in rows]


def _split(rest: str, kind: str, shape: str) -> tuple[str, str]:
    first, sep, second = rest.partition("/")
    if not sep or not first or not second:
        raise TargetNotFound(f"{kind}: target must be {kind}:{shape}")
    return first, second


def _by_seq(tree: _Tree, text: str) -> dict[str, Any]:
    if not text.isdigit():
        raise TargetNotFound(f"seq:{text}: not a seq (a positive integer)")
    node = tree.node("event", int(text))
    if node is None:
        head = tree._one("SELECT max(seq) FROM events", [])
        raise TargetNotFound(
            f"no event at seq {int(text)} (the ledger's events are 1..{head or 0})"
        )
    return node


def _by_job(tree: _Tree, job_id: str) -> dict[str, Any] | None:
    """The latest intent of ``job_id`` and its latest outcome (the intent alone if none)."""
    intent = tree._one("SELECT max(seq) FROM intents WHERE job_id = ?", [job_id])
    if intent is None:
        return None
    answer = tree._one("SELECT max(seq) FROM outcomes WHERE cause = ?", [intent])
    return tree.node("outcome", answer) if answer is not None else tree.node("intent", intent)


def _by_segment(tree: _Tree, rest: str) -> dict[str, Any]:
    batch, key = _split(rest, "segment", "<batch>/<segment key>")
    cur = tree.con.execute(
        "SELECT * FROM leaderboard_segments WHERE batch = ? AND segment_key = ?", [batch, key]
    )
    row = cur.fetchone()
    if row is None:
        raise TargetNotFound(f"segment:{rest}: no leaderboard segment {key!r} in batch {batch!r}")
    columns = [d[0] for d in cur.description or []]
    facts = {c: v for c, v in zip(columns, row, strict=True) if c != "examples"}
    seqs = tree.con.execute(
        """SELECT DISTINCT u.outcome_seq FROM leaderboard_entries AS e
           JOIN leaderboard_users AS u USING (batch, "index")
           WHERE e.batch = ? AND e.segment_key = ? ORDER BY 1""",
        [batch, key],
    ).fetchall()
    children = [tree.node("scan outcome", s[0]) for s in seqs]
    return _synthetic("segment", facts, children)


def _by_cell(tree: _Tree, rest: str) -> dict[str, Any]:
    batch, name = _split(rest, "cell", "<batch>/<job name>")
    # The scoreboard's cell: the job's row of ``report_jobs`` (its last outcome by index).
    row = tree.con.execute(
        """SELECT outcome_seq, intent_seq FROM report_jobs WHERE batch = ? AND name = ?
           ORDER BY "index" DESC LIMIT 1""",
        [batch, name],
    ).fetchone()
    if row is None:
        raise TargetNotFound(f"cell:{rest}: no job {name!r} in batch {batch!r}")
    node = tree.node("outcome", row[0]) if row[0] is not None else tree.node("intent", row[1])
    return _synthetic("cell", {"batch": batch, "name": name}, [node])


def _by_promotion(tree: _Tree, rest: str) -> dict[str, Any]:
    study, tier = _split(rest, "promotion", "<study>/<tier>")
    seq = tree._one(
        f"SELECT max(seq) FROM events WHERE type = '{PROMOTION}' "
        "AND data->>'study' = ? AND data->>'tier' = ?",
        [study, tier],
    )
    node = tree.node("decision", seq)
    if node is None:
        raise TargetNotFound(
            f"promotion:{rest}: no promotion.decided for study {study!r}, tier {tier!r}"
        )
    return node


def _synthetic(role: str, facts: dict[str, Any], children: list[Any]) -> dict[str, Any]:
    return {"role": role, "seq": None, "facts": facts, "children": [c for c in children if c]}


def resolve(con: duckdb.DuckDBPyConnection, target: str) -> tuple[str, dict[str, Any]]:
    """The kind of ``target`` and the tree of facts behind it (see the module docstring).

    Raises:
        TargetNotFound: the target is malformed or names nothing in the ledger.
    """
    tree = _Tree(con)
    kind, sep, rest = target.strip().partition(":")
    if sep and kind == "seq":
        return kind, _by_seq(tree, rest)
    if sep and kind == "segment":
        return kind, _by_segment(tree, rest)
    if sep and kind == "cell":
        return kind, _by_cell(tree, rest)
    if sep and kind == "promotion":
        return kind, _by_promotion(tree, rest)
    job = rest if sep and kind == "job" else target.strip()
    if not sep and job.isdigit():
        return "seq", _by_seq(tree, job)
    node = _by_job(tree, job) if job else None
    if node is None:
        raise TargetNotFound(f"{target!r} names nothing in the ledger: give {TARGET_HELP}")
    return "job", node


def event_seqs(node: dict[str, Any]) -> list[int]:
    """Every seq in a tree, depth first."""
    found = [node["seq"]] if node.get("seq") is not None else []
    for child in node["children"]:
        found.extend(event_seqs(child))
    return found


def attach(node: dict[str, Any], proofs: dict[int, dict[str, Any]]) -> None:
    """Put each event's inclusion proof on its node (``proof``)."""
    if node.get("seq") is not None:
        node["proof"] = proofs[node["seq"]]
    for child in node["children"]:
        attach(child, proofs)


def explain(root: Path, target: str, proof: bool = False) -> dict[str, Any]:
    """``{"target", "kind", "tree"}`` for ``target`` after bringing the database up to date;
    with ``proof``, every event node carries its inclusion proof (``ledger.inclusion_proofs``:
    against the latest checkpoint, or the head for events after it or without one).

    Raises:
        LedgerNotFound: no ledger at ``root``.
        TargetNotFound: the target is malformed or names nothing in the ledger.
    """
    from ledger import Ledger, inclusion_proofs
    from projections.reads import current_connection

    with current_connection(root) as con:
        kind, tree = resolve(con, target)
    if proof:
        attach(tree, inclusion_proofs(Ledger.open(root), event_seqs(tree)))
    return {"target": target, "kind": kind, "tree": tree}
