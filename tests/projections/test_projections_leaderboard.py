"""The leaderboard projection against a brute-force Python reference (seed 000 rules)."""

from __future__ import annotations

import json
import math
import uuid
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from projection_fixtures import open_ledger, run_batch, run_main, scan_jobs

from projections import rebuild

METRICS = ("avg_clv_pct", "beat_close_rate")
WEIGHTED = (
    "notional_weighted_avg_clv_pct",
    "notional_weighted_beat_close_rate",
    "count_weighted_avg_clv_pct",
    "count_weighted_beat_close_rate",
)

values = st.one_of(
    st.none(),
    st.sampled_from([0.0, 0.5, 1.0, -0.25]),
    st.floats(min_value=-50, max_value=50, allow_nan=False, allow_subnormal=False),
)
entries = st.fixed_dictionaries(
    {
        "segment_key": st.sampled_from(["a", "b", "c", "b|x", "ü"]),
        "weighting": st.sampled_from(["notional", "count"]),
        "denominators": st.fixed_dictionaries(
            {
                "weight_used": st.one_of(
                    st.none(),
                    st.sampled_from([0.0, -1.0, 2.0]),
                    st.floats(min_value=1e-3, max_value=1e6, allow_nan=False),
                ),
                "count_used": st.one_of(st.none(), st.integers(min_value=-1, max_value=40)),
            }
        ),
        "metrics": st.fixed_dictionaries({"avg_clv_pct": values, "beat_close_rate": values}),
        "examples": st.lists(st.text(max_size=3), max_size=2),
    }
)
users = st.lists(
    st.tuples(st.sampled_from(["ok", "ok", "ok", "error"]), st.lists(entries, max_size=5)),
    min_size=1,
    max_size=6,
)


def _seq_sum(vals: list[float]) -> float:
    total = 0.0
    for v in vals:
        total += v
    return total


def _quantile(vs: list[float], p: float) -> float | None:
    if not vs:
        return None
    pos = (len(vs) - 1) * p
    k = math.floor(pos)
    lo, hi, frac = vs[k], vs[min(k + 1, len(vs) - 1)], pos - k
    return lo if frac == 0 else lo + (hi - lo) * frac


def reference(ok_users: list[tuple[str, list[dict[str, Any]]]], top: int) -> dict[str, Any]:
    by_key: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for user, es in ok_users:
        for e in es:
            by_key.setdefault(e["segment_key"], []).append((user, e))
    segments = []
    for key in sorted(by_key):
        rows = by_key[key]
        seg: dict[str, Any] = {"segment_key": key, "users_with_segment": len({u for u, _ in rows})}
        counts = [e["denominators"]["count_used"] for _, e in rows]
        total = math.fsum(float(c) for c in counts if c is not None)
        seg["total_count"] = int(total) if total.is_integer() else total
        notional = [
            e
            for _, e in rows
            if e["weighting"] == "notional" and (e["denominators"]["weight_used"] or 0) > 0
        ]
        counted = [
            e
            for _, e in rows
            if e["weighting"] == "count" and (e["denominators"]["count_used"] or 0) > 0
        ]
        seg["total_notional_weight_used"] = math.fsum(
            e["denominators"]["weight_used"] for e in notional
        )
        for mode, group, wkey in (
            ("notional", notional, "weight_used"),
            ("count", counted, "count_used"),
        ):
            for metric in METRICS:
                pairs = [
                    (e["metrics"][metric], float(e["denominators"][wkey]))
                    for e in group
                    if e["metrics"][metric] is not None
                ]
                num = math.fsum(v * w for v, w in pairs)
                den = math.fsum(w for _, w in pairs)
                seg[f"{mode}_weighted_{metric}"] = num / den if pairs else None
        per_user: dict[str, list[float]] = {}
        for user, e in rows:
            if e["metrics"]["avg_clv_pct"] is not None:
                per_user.setdefault(user, []).append(e["metrics"]["avg_clv_pct"])
        means = sorted(_seq_sum(sorted(v)) / len(v) for v in per_user.values())
        p25, med, p75 = (_quantile(means, p) for p in (0.25, 0.5, 0.75))
        seg["robust_avg_clv_pct"] = {
            "median": med,
            "p25": p25,
            "p75": p75,
            "iqr": None if p25 is None or p75 is None else p75 - p25,
        }
        examples = [x for _, e in rows for x in e["examples"]]
        seg["examples"] = examples[:3]
        segments.append(seg)
    top_lists = {
        m: [
            s["segment_key"]
            for s in sorted(
                (s for s in segments if s[m] is not None),
                key=lambda s: (-s[m], s["segment_key"]),
            )
        ][:top]
        for m in WEIGHTED
    }
    top_lists["persistence"] = [
        s["segment_key"]
        for s in sorted(segments, key=lambda s: (-s["users_with_segment"], s["segment_key"]))
    ][:top]
    return {"segments": segments, "top_lists": top_lists}


def per_user_reference(status: str, es: list[dict[str, Any]], top: int = 3) -> dict[str, Any]:
    """A user's coverage and top candidates: its entries (an ok user's) counted, and the first
    ``top`` by avg_clv_pct desc (nulls last), then segment_key, then position in its list."""
    es = es if status == "ok" else []
    coverage = {
        "candidates": len(es),
        "segments": len({e["segment_key"] for e in es}),
        "notional_usable": sum(
            1
            for e in es
            if e["weighting"] == "notional" and (e["denominators"]["weight_used"] or 0) > 0
        ),
        "count_usable": sum(
            1
            for e in es
            if e["weighting"] == "count" and (e["denominators"]["count_used"] or 0) > 0
        ),
    }

    def rank(item: tuple[int, dict[str, Any]]) -> tuple[Any, ...]:
        pos, e = item
        avg = e["metrics"]["avg_clv_pct"]
        return (avg is None, -(avg or 0.0), e["segment_key"], pos)

    best = [e for _, e in sorted(enumerate(es), key=rank)][:top]
    tops = [
        {
            "segment_key": e["segment_key"],
            "weighting": e["weighting"],
            "avg_clv_pct": e["metrics"]["avg_clv_pct"],
            "beat_close_rate": e["metrics"]["beat_close_rate"],
            "weight_used": e["denominators"]["weight_used"],
            "count_used": e["denominators"]["count_used"],
        }
        for e in best
    ]
    return {"coverage": coverage, "top_candidates": tops}


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(users=users)
def test_leaderboard_matches_brute_force_reference(tmp_path: Path, users: Any) -> None:
    root = tmp_path / uuid.uuid4().hex
    led = open_ledger(root)
    triples = [(f"user{i}", status, es) for i, (status, es) in enumerate(users)]
    run_batch(led, "scan", scan_jobs(triples), kind="scan")
    rebuild(root)
    doc = json.loads((root / "batches/scan/hypothesis_leaderboard.json").read_text())
    expected = reference([(u, es) for u, s, es in triples if s == "ok"], top=20)
    assert doc["segments"] == expected["segments"]
    assert doc["top_lists"] == expected["top_lists"]
    assert doc["attempted"] == len(triples)
    assert doc["succeeded"] == sum(1 for _, s, _ in triples if s == "ok")
    assert [u["user"] for u in doc["per_user"]] == [u for u, _, _ in triples]
    for got, (_, status, es) in zip(doc["per_user"], triples, strict=True):
        expected_user = per_user_reference(status, es)
        assert got["coverage"] == expected_user["coverage"]
        assert got["top_candidates"] == expected_user["top_candidates"]


def test_weighted_combine_uses_weight_used_and_count_only_segment(tmp_path: Path) -> None:
    def entry(key: str, weighting: str, w: float, c: int, clv: float) -> dict[str, Any]:
        return {
            "segment_key": key,
            "weighting": weighting,
            "denominators": {"weight_used": w, "count_used": c},
            "metrics": {"avg_clv_pct": clv, "beat_close_rate": 0.5},
        }

    led = open_ledger(tmp_path)
    jobs = scan_jobs(
        [
            (
                "alice",
                "ok",
                [entry("s1", "notional", 3.0, 1, 0.1), entry("s2", "count", 0, 4, 0.2)],
            ),
            ("bob", "ok", [entry("s1", "notional", 1.0, 1, 0.5), entry("s2", "count", 0, 0, 9.0)]),
            ("carol", "error", [entry("s1", "notional", 100.0, 1, 99.0)]),
        ]
    )
    run_batch(led, "b", jobs, kind="scan")
    rebuild(tmp_path)
    doc = json.loads((tmp_path / "batches/b/hypothesis_leaderboard.json").read_text())
    s1, s2 = doc["segments"]
    assert s1["notional_weighted_avg_clv_pct"] == (0.1 * 3.0 + 0.5 * 1.0) / 4.0
    assert s1["count_weighted_avg_clv_pct"] is None
    assert s1["total_notional_weight_used"] == 4.0
    assert s2["notional_weighted_avg_clv_pct"] is None  # only count contributors
    assert s2["count_weighted_avg_clv_pct"] == 0.2  # count_used 0 is left out
    assert s2["total_count"] == 4 and s2["users_with_segment"] == 2
    assert doc["top_lists"]["notional_weighted_avg_clv_pct"] == ["s1"]
    assert doc["top_lists"]["persistence"] == ["s1", "s2"]
    assert doc["failed"] == 1
    manifest = json.loads((tmp_path / "batches/b/batch_manifest.json").read_text())
    for rel in manifest["outputs"].values():
        assert (tmp_path / rel).is_file()
    assert [u["status"] for u in manifest["users"]] == ["ok", "ok", "error"]
    md = (tmp_path / "batches/b/hypothesis_leaderboard.md").read_text()
    assert "Robust CLV stats" in md and "| s1 | 2 | 0.3000 |" in md


def test_leaderboard_command_top_and_json(tmp_path: Path, capsys: Any) -> None:
    led = open_ledger(tmp_path)
    es = [
        {
            "segment_key": f"k{i}",
            "weighting": "notional",
            "denominators": {"weight_used": 1.0, "count_used": 1},
            "metrics": {"avg_clv_pct": float(i % 3), "beat_close_rate": 0.5},
        }
        for i in range(6)
    ]
    run_batch(led, "b", scan_jobs([("u", "ok", es)]), kind="scan")
    code, out, _ = run_main(capsys, "--root", str(tmp_path), "leaderboard", "--top", "2", "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["top_lists"]["notional_weighted_avg_clv_pct"] == ["k2", "k5"]
    code, out, _ = run_main(capsys, "--root", str(tmp_path), "leaderboard", "--batch", "b")
    assert code == 0 and out.startswith("# Hypothesis leaderboard: b")
    code, _, err = run_main(capsys, "--root", str(tmp_path), "leaderboard", "--batch", "nope")
    assert code == 2 and err.count("\n") == 1 and "nope" in err
