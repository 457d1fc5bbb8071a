"""The HTML report: its sections and charts, no external reference, deterministic bytes
(two renders, two processes, rebuild vs command, full vs incremental), and the charts drawn
by a real browser (headless Chromium) when one is installed."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from projection_fixtures import open_ledger, run_batch

from commands.cli import main
from ledger import Ledger
from schemas import NewEvent

REPO = Path(__file__).resolve().parents[2]
JOBS_MODULE = REPO / "tests" / "runner" / "runner_jobs.py"  # the runner tests' stand-in jobs
EXAMPLES = REPO / "examples"
STUDY = "study-1"
SVG_NAMESPACES = (
    'xmlns="http://www.w3.org/2000/svg"',
    'xmlns:xlink="http://www.w3.org/1999/xlink"',
)
CHROMIUM_NAMES = ("chromium", "chromium-browser")


def sl(root: Path, *args: str) -> tuple[int, str]:
    """Run the CLI in-process (output captured by the caller's capture): (exit code, stdout)."""
    import contextlib
    import io

    out = io.StringIO()
    code: Any
    try:
        with contextlib.redirect_stdout(out):
            code = main(["--root", str(root), *args])  # the console script exits with this
    except SystemExit as exited:
        code = exited.code
    return (code if isinstance(code, int) else 0), out.getvalue()


SCOREBOARD_CSV = """\
index,name,job_id,x,score,baseline,candidate,gate:score,parity:score:mode,parity:score:mode.spread,beat:score,beat:score.best,notes
0,a,j0,1,2.0,false,true,pass,pass,0.0,pass,1.0,fine
1,b,j1,2,4.0,false,false,pass,fail,2.0,,,
2,c,j2,3,,false,false,skipped,skipped,,skipped,,
3,d,j3,4,8.0,true,false,fail,pass,0.0,,,
"""


def run_sweep(base: Path, root: Path) -> str:
    """Run a real swept batch (a failure and a non-finite metric among its jobs) into
    ``root``; returns its batch id."""
    jobs = [
        {"name": "broken", "params": {"do": "error", "x": 9}},
        {"name": "odd", "params": {"do": "nan"}},
    ]
    matrix = {"axes": {"x": [1, 2, 3, 4], "mode": ["fast", "slow"]}}
    folder = base / "m"
    folder.mkdir(exist_ok=True)
    shutil.copy(JOBS_MODULE, folder / JOBS_MODULE.name)
    manifest = folder / "sweep.yaml"
    body = {"name": "htmlsweep", "callable": "runner_jobs:work", "jobs": jobs, "matrix": matrix}
    manifest.write_text(yaml.safe_dump(body, sort_keys=False), encoding="utf-8")
    code, _ = sl(root, "run", str(manifest), "--executor", "thread", "--workers", "2")
    assert code == 1  # one job failed
    return next(b.batch for b in _batches(root) if b.name == "htmlsweep")


@pytest.fixture(scope="module")
def sweep_root(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    """A root holding a real swept batch, a real ingest of the example run roots (a
    leaderboard) and a hand-written scoreboard file for the sweep.
    Returns (root, sweep batch, scan batch)."""
    base = tmp_path_factory.mktemp("html")
    root = base / "root"
    sweep = run_sweep(base, root)
    code, _ = sl(root, "ingest", "run-roots", str(EXAMPLES / "run_roots"))
    assert code == 0
    scan = next(b.batch for b in _batches(root) if b.name != "htmlsweep")
    board = root / "scoreboard" / sweep / "tournament_scoreboard.csv"
    board.parent.mkdir(parents=True)
    board.write_text(SCOREBOARD_CSV, encoding="utf-8")
    return root, sweep, scan


class _Batch:
    def __init__(self, batch: str, name: str) -> None:
        self.batch, self.name = batch, name


def _batches(root: Path) -> list[_Batch]:
    return [
        _Batch(str(e.batch), str(e.data["name"]))
        for e in Ledger.open(root).read(types=["batch.started"])
    ]


TRIALS: list[tuple[str, float, float, float, bool]] = [
    # candidate, mean_pnl, kill_prob_ci_upper, drawdown_cvar, on the frontier
    ("c0", 1.0, 0.10, 5.0, True),
    ("c1", 2.0, 0.20, 4.0, True),
    ("c2", 0.5, 0.30, 6.0, False),
    ("c3", 3.0, 0.40, 3.0, True),
    ("c4", 1.5, 0.35, 5.5, False),
]


def decision(study: str, tier: str, cid: str, metrics: dict[str, float]) -> NewEvent:
    data = {
        "study": study,
        "tier": tier,
        "candidate_id": cid,
        "trial_id": f"trial_{cid}",
        "candidate_hash": "0" * 64,
        "metrics": metrics,
        "evidence_verified": True,
    }
    return NewEvent(type="promotion.decided", data=data, batch=study)


def make_study(root: Path) -> None:
    """Trial outcomes appended as a batch (the pareto projection makes its files), a
    promotion decided for it, then one of another study for the same tier (so the tier's
    PROMOTION_RECORD.json names the other study's winner)."""
    led = open_ledger(root)
    jobs = [
        {
            "name": cid,
            "params": {"candidate_id": cid, "hedge_band_base": i / 10},
            "status": "ok",
            "duration_s": 0.1 * (i + 1),
            "metrics": {"mean_pnl": pnl, "kill_prob_ci_upper": kill, "drawdown_cvar": dd},
            "result": {"candidate_id": cid, "evidence_verified": True},
        }
        for i, (cid, pnl, kill, dd, _) in enumerate(TRIALS)
    ]
    run_batch(led, STUDY, jobs)
    metrics = {"mean_pnl": 2.0, "kill_prob_ci_upper": 0.2, "drawdown_cvar": 4.0}
    led.append([decision(STUDY, "balanced", "c1", metrics)])
    led.append([decision("elsewhere", "balanced", "c3", metrics)])


def write_study_files(root: Path, study: str) -> None:
    """A study known only by hand-written files (another tool's): objectives as a name ->
    direction map, values under ``metrics`` in the trial lines."""
    folder = root / "studies" / study
    folder.mkdir(parents=True)
    frontier, lines = [], []
    for i, (cid, pnl, kill, dd, front) in enumerate(TRIALS):
        values = {"mean_pnl": pnl, "kill_prob_ci_upper": kill, "drawdown_cvar": dd}
        lines.append(json.dumps({"candidate_id": cid, "valid": i != 4, "metrics": values}))
        if front:
            frontier.append({"candidate_id": cid, "trial_id": f"t{i}", **values, "params": {}})
    directions = {"mean_pnl": "max", "kill_prob_ci_upper": "min", "drawdown_cvar": "min"}
    doc = {"study": study, "objectives": directions, "frontier": frontier}
    (folder / "pareto.json").write_text(json.dumps(doc, indent=2), encoding="utf-8")
    (folder / "trials.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def study_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("study") / "root"
    make_study(root)
    return root


def sections_of(page: str) -> list[str]:
    return re.findall(r'<section id="([^"]+)">', page)


def figures_of(page: str) -> dict[str, str]:
    """Each figure's ``data-chart`` name -> its content."""
    found = re.findall(r'<figure data-chart="([^"]+)">(.*?)</figure>', page, re.DOTALL)
    return {html.unescape(name): body for name, body in found}


def assert_self_contained(page: str) -> None:
    stripped = page
    for declaration in SVG_NAMESPACES:
        stripped = stripped.replace(declaration, "")
    for needle in ("http://", "https://", "//cdn", "<script", "<link", "@import", "<img"):
        assert needle not in stripped, needle
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids)), "duplicate ids"
    references = set(re.findall(r'(?:url\(#|href="#)([^)"]+)', page))
    assert references <= set(ids), references - set(ids)


def test_batch_page_holds_each_section_and_chart(sweep_root: tuple[Path, str, str]) -> None:
    root, sweep, _ = sweep_root
    code, out = sl(root, "report", "--batch", sweep, "--html")
    assert code == 0
    path = root / "batches" / sweep / "report.html"
    assert out == f"{path}\n"
    page = path.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert sections_of(page) == ["overview", "metrics", "params", "durations", "scoreboard"]
    for section in sections_of(page):  # the table of contents links every section
        assert f'<a href="#{section}">' in page
    figures = figures_of(page)
    assert set(figures) == {
        "histogram:good",
        "histogram:score",
        "histogram:seed_mod",
        "param:mode",
        "param:x",
        "durations",
        "scoreboard",
    }
    for body in figures.values():
        assert body.count("<svg ") == 1 and "<figcaption>" in body
    assert page.count("<svg ") == len(figures)
    assert "bad: no finite value (1 null)." in page  # a non-finite metric is marked
    assert "final error</th><td>1</td>" in page and "final ok</th><td>9</td>" in page
    head = Ledger.open(root).read(batch=sweep)
    last = list(head)[-1]
    assert f"{last.seq}:{last.hash}" in page
    assert_self_contained(page)


def test_scoreboard_pass_rates_come_from_the_check_columns(
    sweep_root: tuple[Path, str, str],
) -> None:
    root, sweep, _ = sweep_root
    sl(root, "report", "--batch", sweep, "--html")
    page = (root / "batches" / sweep / "report.html").read_text(encoding="utf-8")
    scoreboard = page.split('<section id="scoreboard">')[1]
    rows = re.findall(r"<tr><td>([^<]+)</td>((?:<td[^>]*>[^<]*</td>)+)</tr>", scoreboard)
    table = {name: re.findall(r">([^<]*)</td>", cells) for name, cells in rows}
    # every gate:/parity:/beat: column, not the references, the metrics or the notes
    assert table == {
        "gate:score": ["2", "1", "1", "0.666667"],
        "parity:score:mode": ["2", "1", "1", "0.666667"],
        "beat:score": ["1", "0", "1", "1"],
    }
    assert "4 rows, 1 candidates" in scoreboard


def test_pass_rates_agree_with_the_scoreboard_command(tmp_path: Path) -> None:
    root = tmp_path / "root"
    sweep = run_sweep(tmp_path, root)
    gates = tmp_path / "gates.yaml"
    gates.write_text(
        "gates:\n  score: {min: 4}\n  good: {min: 0, required: false}\n"
        "parity:\n  metric: score\n  across: mode\n  max_abs_diff: 0.5\n",
        encoding="utf-8",
    )
    code, markdown = sl(root, "scoreboard", "--batch", sweep, "--gates", str(gates))
    assert code == 1  # strict: the failed job lacks score
    checks = markdown.split("## Checks")[1].split("##")[0]
    expected = {
        row[0]: row[1:]
        for row in (
            [c.strip() for c in line.strip("|").split("|")]
            for line in checks.strip().splitlines()[2:]
        )
    }
    sl(root, "report", "--batch", sweep, "--html")
    page = (root / "batches" / sweep / "report.html").read_text(encoding="utf-8")
    board = page.split('<section id="scoreboard">')[1]
    rows = re.findall(r"<tr><td>([^<]+)</td>((?:<td[^>]*>[^<]*</td>)+)</tr>", board)
    shown = {name: re.findall(r">([^<]*)</td>", cells)[:3] for name, cells in rows}
    assert shown == expected and set(shown) == {"gate:good", "gate:score", "parity:score:mode"}
    # The reference `rebuild --check html` builds judges the batch too: the page is the same.
    code, out = sl(root, "rebuild", "--check", "html")
    assert f"batches/{sweep}/report.html" not in out, out


def test_leaderboard_page_shows_top_segments(sweep_root: tuple[Path, str, str]) -> None:
    root, _, scan = sweep_root
    code, _ = sl(root, "report", "--batch", scan, "--html")
    assert code == 0
    page = (root / "batches" / scan / "report.html").read_text(encoding="utf-8")
    assert "leaderboard" in sections_of(page)
    assert "leaderboard:notional_weighted_avg_clv_pct" in figures_of(page)
    document = json.loads((root / "batches" / scan / "hypothesis_leaderboard.json").read_text())
    top = document["top_lists"]["notional_weighted_avg_clv_pct"]
    board = page.split('<section id="leaderboard">')[1]
    assert re.findall(r"<tr><td>([^<]+)</td>", board) == top
    assert_self_contained(page)


def test_study_page_shows_the_pareto_front_and_winners(study_root: Path) -> None:
    code, out = sl(study_root, "report", "--study", STUDY, "--html")
    assert code == 0
    path = study_root / "studies" / STUDY / "report.html"
    assert out == f"{path}\n"
    page = path.read_text(encoding="utf-8")
    assert sections_of(page)[:2] == ["overview", "pareto"]
    assert {"metrics", "params", "durations"} <= set(sections_of(page))
    assert "<h2>Parameters vs mean_pnl</h2>" in page  # the first objective
    figures = figures_of(page)
    pairs = [
        "pareto:mean_pnl:kill_prob_ci_upper",
        "pareto:mean_pnl:drawdown_cvar",
        "pareto:kill_prob_ci_upper:drawdown_cvar",
    ]
    for pair in pairs:
        labels = re.findall(r">([^<>]*: c\d)</text>", figures[pair])
        assert labels == ["balanced: c1"]  # the winner labelled, not another study's
        assert "frontier (3)" in figures[pair] and "trials (5)" in figures[pair]
    frontier = page.split("<h3>Frontier</h3>")[1].split("</table>")[0]
    assert re.findall(r"<tr><td>([^<]+)</td>", frontier) == ["c0", "c1", "c3"]
    record = json.loads(
        (study_root / "promoted" / "balanced" / "PROMOTION_RECORD.json").read_text()
    )
    assert record["study"] == "elsewhere"  # the tier's file moved on; the page did not
    assert_self_contained(page)


def test_study_known_only_by_its_files(tmp_path: Path) -> None:
    root = tmp_path / "root"
    run_batch(open_ledger(root), "other", [{"name": "j", "status": "ok", "metrics": {"m": 1}}])
    write_study_files(root, "byhand")
    assert sl(root, "report", "--study", "byhand", "--html")[0] == 0
    page = (root / "studies" / "byhand" / "report.html").read_text(encoding="utf-8")
    assert sections_of(page) == ["pareto"]
    figures = figures_of(page)
    assert len(figures) == 3
    chart = figures["pareto:mean_pnl:kill_prob_ci_upper"]
    assert "trials (4)" in chart and "frontier (3)" in chart  # the invalid trial left out
    assert "mean_pnl (higher is better)" in chart


def test_same_bytes_across_renders_processes_and_rebuilds(
    tmp_path: Path, sweep_root: tuple[Path, str, str]
) -> None:
    root, sweep, _ = sweep_root
    path = root / "batches" / sweep / "report.html"
    sl(root, "report", "--batch", sweep, "--html")
    first = path.read_bytes()
    sl(root, "report", "--batch", sweep, "--html")
    assert path.read_bytes() == first
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from commands.cli import main; sys.exit(main())",
            *("--root", str(root), "report", "--batch", sweep, "--html"),
        ],
        capture_output=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert path.read_bytes() == first
    # rebuild html (full) writes the same page; appending another batch changes nothing
    path.unlink()
    assert sl(root, "rebuild", "html", "--full")[0] == 0
    assert path.read_bytes() == first
    run_batch(open_ledger(root), "later", [{"name": "j", "status": "ok", "metrics": {"m": 1}}])
    code, out = sl(root, "rebuild", "html")
    assert code == 0 and str(path) not in out and "later" in out
    assert path.read_bytes() == first


def test_study_page_same_bytes_twice(study_root: Path) -> None:
    path = study_root / "studies" / STUDY / "report.html"
    sl(study_root, "report", "--study", STUDY, "--html")
    first = path.read_bytes()
    path.unlink()
    sl(study_root, "report", "--study", STUDY, "--html")
    assert path.read_bytes() == first


def test_rebuild_writes_pages_only_when_asked(tmp_path: Path) -> None:
    root = tmp_path / "root"
    make_study(root)
    assert sl(root, "rebuild")[0] == 0
    assert not list(root.rglob("report.html"))
    run_batch(open_ledger(root), "plain", [{"name": "j", "status": "ok"}])  # trials, no frontier
    code, out = sl(root, "rebuild", "html")
    assert code == 0
    assert (root / "studies" / "plain" / "pareto.json").is_file()  # but no study page
    assert [line for line in out.splitlines() if line.endswith(".html")] == [
        str(root / "batches" / "plain" / "report.html"),
        str(root / "batches" / STUDY / "report.html"),
        str(root / "studies" / STUDY / "report.html"),
    ]


def test_objective_from_the_manifest_and_sub_steps_left_out(tmp_path: Path) -> None:
    root = tmp_path / "root"
    led = open_ledger(root)
    started = {
        "name": "obj",
        "manifest": {
            "name": "obj",
            "kind": "trial",
            "objective": {"metric": "loss", "direction": "min"},
        },
        "manifest_sha256": "0" * 64,
        "jobs": 3,
        "executor": "thread",
        "workers": 1,
    }
    led.append([NewEvent(type="batch.started", data=started, batch="obj")])
    from projection_fixtures import intent, job_id_of, outcome

    for i in range(3):
        seq = intent(led, "obj", i, f"j{i}", lr=0.1 * (i + 1))
        metrics = {"acc": 0.5 + i / 10, "loss": 1.0 - i / 10}
        outcome(led, seq, "obj", job_id_of(f"j{i}", {"lr": 0.1 * (i + 1)}), metrics=metrics)
    step = intent(led, "obj", 0, "j0", kind="optimize", lr=0.1)  # a sub-step, not a job
    outcome(led, step, "obj", job_id_of("j0", {"lr": 0.1}), kind="optimize", duration_s=99.0)
    assert sl(root, "report", "--batch", "obj", "--html")[0] == 0
    page = (root / "batches" / "obj" / "report.html").read_text(encoding="utf-8")
    assert "<h2>Parameters vs loss</h2>" in page and "param:lr" in figures_of(page)
    assert "Each of the 3 outcomes of obj" in figures_of(page)["durations"]


def test_names_are_text_not_markup_or_math(tmp_path: Path) -> None:
    root = tmp_path / "root"
    metric, param = '$a_b$ <b>&"', "<script>alert(1)</script>"
    jobs = [
        {"name": f"j{i}", "params": {param: i}, "status": "ok", "metrics": {metric: i / 2}}
        for i in range(4)
    ]
    run_batch(open_ledger(root), "names", jobs)
    assert sl(root, "report", "--batch", "names", "--html")[0] == 0
    page = (root / "batches" / "names" / "report.html").read_text(encoding="utf-8")
    assert "<script" not in page and "<b>" not in page
    svg = figures_of(page)[f"histogram:{metric}"].split("<figcaption>")[0]
    assert ">$a_b$ &lt;b&gt;&amp;" in svg  # the axis label: the name as typed, escaped
    assert_self_contained(page)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["report", "--study", "nope", "--html"], "no study 'nope'"),
        (["report", "--batch", "nope", "--html"], "no batch 'nope'"),
        (["report", "--study", STUDY], "--study needs --html"),
        (["report", "--csv", "--html"], "--csv and --html exclude each other"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    study_root: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    capsys.readouterr()
    code, _ = sl(study_root, *args)
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and "Traceback" not in err


PROBE = """<script>
const sizes = [...document.querySelectorAll('figure svg')].map((svg) => {
  const box = svg.getBoundingClientRect();
  const drawn = [...svg.querySelectorAll('path, use')].filter((e) => {
    const r = e.getBoundingClientRect();
    return r.width > 0 || r.height > 0;
  }).length;
  return {chart: svg.closest('figure').dataset.chart, width: box.width, height: box.height,
          drawn: drawn};
});
const out = document.createElement('pre');
out.id = 'probe';
out.textContent = JSON.stringify(sizes);
document.body.appendChild(out);
</script>"""


def chromium() -> str | None:
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def rendered_sizes(browser: str, page: Path, tmp_path: Path) -> list[dict[str, Any]]:
    """Open a copy of ``page`` with a probe script in headless Chromium: per chart, the size
    it was laid out at and how many of its shapes have a size."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    probed = tmp_path / "probed.html"
    text = page.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>")
    probed.write_text(text, encoding="utf-8")
    argv = [
        browser,
        "--headless",
        "--no-sandbox",  # Chromium refuses to run as root with its sandbox
        "--disable-gpu",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--window-size=1200,900",
        "--dump-dom",
        probed.as_uri(),
    ]
    done = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    found = re.search(r'<pre id="probe">(.*?)</pre>', done.stdout, re.DOTALL)
    assert found, done.stdout[-2000:]
    sizes: list[dict[str, Any]] = json.loads(html.unescape(found.group(1)))
    return sizes


def _written_pages(sweep_root: tuple[Path, str, str], study_root: Path) -> list[Path]:
    root, sweep, _ = sweep_root
    sl(root, "report", "--batch", sweep, "--html")
    sl(study_root, "report", "--study", STUDY, "--html")
    return [
        root / "batches" / sweep / "report.html",
        study_root / "studies" / STUDY / "report.html",
    ]


def test_every_page_holds_its_charts(sweep_root: tuple[Path, str, str], study_root: Path) -> None:
    for page in _written_pages(sweep_root, study_root):
        assert figures_of(page.read_text(encoding="utf-8"))


def test_a_browser_draws_every_chart(
    tmp_path: Path, sweep_root: tuple[Path, str, str], study_root: Path
) -> None:
    browser = chromium()
    assert browser is not None, (
        "no chromium on PATH: this test needs Debian's `chromium` package (`make test` installs "
        "it with apt-get when run as root)"
    )
    for i, page in enumerate(_written_pages(sweep_root, study_root)):
        sizes = rendered_sizes(browser, page, tmp_path / f"b{i}")
        expected = list(figures_of(page.read_text(encoding="utf-8")))
        assert [s["chart"] for s in sizes] == expected
        for size in sizes:
            assert size["width"] > 200 and size["height"] > 100, size
            assert size["drawn"] >= 5, size  # axes, ticks and data shapes were laid out


def test_pages_are_recorded_checked_and_restored(tmp_path: Path) -> None:
    root = tmp_path / "root"
    make_study(root)
    assert sl(root, "rebuild", "html")[0] == 0
    page = root / "batches" / STUDY / "report.html"
    before = page.read_bytes()
    assert sl(root, "rebuild", "--check", "html")[0] == 0
    page.write_text("edited\n", encoding="utf-8")
    code, out = sl(root, "rebuild", "--check", "html")
    assert code == 1 and f"changed\tbatches/{STUDY}/report.html" in out
    assert sl(root, "rebuild", "html")[0] == 0
    assert page.read_bytes() == before


def test_a_page_report_writes_is_recorded_like_rebuilds(tmp_path: Path) -> None:
    """``report --html`` records its page: the default check does not call it extra, the html
    check compares it with what ``rebuild html`` writes, and ``rebuild html`` restores it."""
    root = tmp_path / "root"
    make_study(root)
    for args in (("--batch", STUDY), ("--study", STUDY)):
        assert sl(root, "report", *args, "--html")[0] == 0
    assert sl(root, "rebuild", "--check") == (0, "")
    study_page = root / "studies" / STUDY / "report.html"
    before = study_page.read_bytes()
    study_page.write_text("edited\n", encoding="utf-8")
    code, out = sl(root, "rebuild", "--check", "html")
    assert code == 1 and f"changed\tstudies/{STUDY}/report.html" in out, out
    assert sl(root, "rebuild", "html")[0] == 0
    assert study_page.read_bytes() == before
    assert sl(root, "rebuild", "--check", "html")[0] == 0
