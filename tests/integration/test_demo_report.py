"""The demo's story: a healthy fleet of every engine except for planted problems, each found, alerted, fixed, named.

One 9-day run of the demo fleet with its planted problems placed in those 9 days (module-scoped),
with weekly snapshots kept 3 days (``PolicyDocument``) so the legal hold outlives its retention
within the run, and the restore-duration model on the Nov 8 drills. The HTML report is opened in
a real headless Chromium (``scripts/install-test-servers.sh`` installs it).
"""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local_runtime.demo import NO_DR_EXPORTS, Demo, run_demo
from local_runtime.html_report import write_html_report
from local_runtime.planted import DEMO_FLEET, demo_problems
from local_runtime.report import demo_summary_lines, engine_rows, planted_lines, write_report
from local_runtime.restore_model import RestoreDurationModel
from restorable import tags as tag_keys
from restorable.models import Engine
from restorable.naming import parse_timestamp

START = datetime(2026, 11, 1, tzinfo=UTC)
DAYS = 9
DEFAULT_POLICIES = Path(__file__).resolve().parents[2] / "layers/core/restorable/default_policies.json"


def _short_weekly_policies() -> str:
    document = json.loads(DEFAULT_POLICIES.read_text())
    for policy in document["policies"].values():
        policy["snapshots"]["weekly"]["retention_days"] = 3
    return json.dumps(document)


@pytest.fixture(scope="module")
def demo() -> Iterator[Demo]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ACCESS_KEY_ID", "testing")
        patch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        with mock_aws():
            yield run_demo(
                days=DAYS,
                start=START,
                fleet=DEMO_FLEET,
                planted=demo_problems(START, DAYS),
                restore_model=RestoreDurationModel(),
                # weekly expiries of five databases at once are more than the default 20 % breaker share
                parameter_overrides={"PolicyDocument": _short_weekly_policies(), "PruneMaxSharePercent": "50"},
            )


def _episode(demo: Demo, resource: str, check: str) -> Any:
    [episode] = [e for e in demo.findings.episodes if (e.resource, e.check) == (resource, check)]
    return episode


def test_every_finding_is_a_planted_problem(demo: Demo) -> None:
    episodes = demo.findings.sorted_episodes()
    assert episodes
    assert [(e.resource, e.check) for e in episodes if not e.planted] == []
    # The fleet is set up as its policies ask: no replication or copy-tags noise.
    assert not [e for e in episodes if e.check in ("backup-replication", "copy-tags-to-snapshot")]
    assert demo.result.errors == []


def test_the_stopped_database_is_found_at_once_and_recovers_when_rds_restarts_it(demo: Demo) -> None:
    episode = _episode(demo, "reporting-mysql", "database-state")
    assert episode.first_seen == START + timedelta(minutes=5)  # the first hourly pass
    assert episode.alerted == episode.first_seen
    assert episode.cleared == datetime(2026, 11, 8, 0, 5, tzinfo=UTC)  # the first pass after the restart
    assert episode.recovery_alerted == episode.cleared


def test_automated_backups_turned_off_are_found_alerted_and_recover_when_turned_back_on(demo: Demo) -> None:
    off, on = (c.at for c in demo.applied if c.problem == "automated backups off")
    episode = _episode(demo, "shop-mysql", "automated-backups")
    assert episode.severity == "CRITICAL"
    assert off < episode.first_seen <= off + timedelta(hours=1)
    assert episode.alerted == episode.first_seen
    assert episode.cleared is not None
    assert on < episode.cleared <= on + timedelta(hours=1)
    assert episode.recovery_alerted == episode.cleared
    assert "backup-retention-period 7" in episode.fix


def test_the_held_snapshot_outlives_its_retention_and_is_kept(demo: Demo) -> None:
    [hold] = [c for c in demo.applied if c.problem == "legal hold"]
    held = [s for s in demo.result.final_snapshots if s.identifier == hold.detail]
    # The hold was put on the source snapshot; it holds the DR copy too.
    assert {s.region for s in held} == {"us-east-1", "us-west-2"}
    expires = parse_timestamp(held[0].tag_map[tag_keys.EXPIRES_AT])
    assert expires is not None
    assert expires < demo.result.end
    # The same week's snapshot of a database without a hold was pruned.
    unheld = hold.detail.replace("billing-postgres", "shop-mysql")
    assert unheld not in {s.identifier for s in demo.result.final_snapshots}


def test_the_deleted_database_keeps_its_last_recovery_points(demo: Demo) -> None:
    [deleted] = [c for c in demo.applied if c.problem == "deleted database"]
    assert deleted.at < demo.result.end
    kept = [s for s in demo.result.final_snapshots if s.source_identifier == "legacy-postgres"]
    assert {(s.region, s.kind) for s in kept} >= {("us-east-1", "weekly"), ("us-west-2", "weekly")}
    assert not [e for e in demo.findings.episodes if e.resource == "legacy-postgres" and e.open]


def test_table_pitr_turned_off_is_found_alerted_and_recovers_when_turned_back_on(demo: Demo) -> None:
    off, on = (c.at for c in demo.applied if c.problem == "table PITR off")
    for check in ("point-in-time-recovery", "recovery-point-age"):
        episode = _episode(demo, "orders-table", check)
        assert episode.severity == "CRITICAL"
        assert off < episode.first_seen <= off + timedelta(hours=1)
        assert episode.alerted == episode.first_seen
        assert episode.cleared is not None
        assert on < episode.cleared <= on + timedelta(hours=1)
    assert "PointInTimeRecoveryEnabled=true" in _episode(demo, "orders-table", "point-in-time-recovery").fix


def test_tables_have_weekly_backups_pruned_as_their_retention_says(demo: Demo) -> None:
    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    names = {
        table: sorted(b["BackupName"] for b in dynamodb.list_backups(TableName=table)["BackupSummaries"])
        for table in ("orders-table", "carts-global")
    }
    # Weekly backups are kept 3 days here: the newest (Nov 8) stays, the catch-up's (Oct 25) and Nov 1's go.
    for table, kept in names.items():
        assert len(kept) == 1, (table, kept)
        assert "weekly" in kept[0]
        assert "2026-11-08" in kept[0]
    # Each day after the first: one backup per table (the next weekly arrives, the expired one is pruned).
    assert {sample.points.get(("us-east-1", "dynamodb"), 0) for sample in demo.engine_samples[1:]} == {2}
    last = demo.engine_samples[-1]
    assert last.points[("us-east-1", "dynamodb")] == 2
    assert last.storage_gb[("us-east-1", "dynamodb")] == 12 + 4  # each backup at its table's size
    assert ("us-west-2", "dynamodb") not in last.points  # DynamoDB copies no backup across Regions


def test_the_global_table_replica_is_seen_as_dynamodb_shows_it(demo: Demo) -> None:
    # The global table's replica is served as DynamoDB shows it: verification finds nothing on it (but the
    # export to the DR Region, which this run does not deploy).
    assert not [
        e for e in demo.findings.episodes if e.resource == "carts-global" and not e.check.startswith("dr-export:")
    ]


def test_the_cache_takes_its_daily_snapshots_and_verification_finds_nothing_on_it(demo: Demo) -> None:
    cache_points = sum(n for (_, engine), n in demo.engine_samples[-1].points.items() if engine == "valkey")
    assert cache_points >= 1
    assert [e for e in demo.findings.episodes if e.resource == "sessions-cache"] == []


def test_without_the_dr_companion_stack_the_tables_dr_export_findings_are_the_known_gap(demo: Demo) -> None:
    exports = [e for e in demo.findings.episodes if e.check.startswith("dr-export:")]
    assert {e.resource for e in exports} == {"orders-table", "carts-global"}
    assert {e.planted for e in exports} == {NO_DR_EXPORTS}
    assert all(e.severity == "WARNING" for e in exports)


def test_drill_rto_follows_the_restore_model_and_a_slow_restore_misses_its_target(demo: Demo) -> None:
    model = demo.restore_model
    assert model is not None
    rds = {m.identifier for m in DEMO_FLEET if m.service is Engine.RDS}
    drills = {d.figures["source"]: d.figures for d in demo.result.drills if d.figures["source"] in rds}
    sizes = {m.identifier: (m.engine, m.size_gb) for m in DEMO_FLEET}
    assert {"shop-mysql", "billing-postgres", "ledger-aurora"} <= set(drills)
    for source, figures in drills.items():
        modelled = model.minutes(*sizes[source]) * 60
        # never sooner than the model; later by the drill's own polling (its status polls back off, and
        # an Aurora drill creates its instance once the cluster is available, then polls again)
        assert modelled <= figures["rto_seconds"] <= modelled * 1.5, source
    assert len({round(f["rto_seconds"]) for f in drills.values()}) == len(drills)  # RTO varies by database
    assert drills["billing-postgres"]["rto_seconds"] > drills["billing-postgres"]["rto_target_seconds"]
    assert drills["billing-postgres"]["outcome"] == "failed"
    assert drills["shop-mysql"]["outcome"] == "passed"


def test_summary_names_every_finding_with_its_check_severity_times_and_fix(demo: Demo) -> None:
    text = "\n".join(demo_summary_lines(demo))
    for episode in demo.findings.episodes:
        line = (
            f"[{episode.severity}] {episode.resource} / {episode.check}: first seen {episode.first_seen:%Y-%m-%d %H:%M}"
        )
        assert line in text
        assert episode.fix in text
    assert "cleared 2026-11-08 00:05" in text
    assert "postgres: 12 min + 0.55 min/GB" in text  # the restore model is stated
    assert "KEPT at the end (pruning's legal-hold rule)" in text
    announced = "\n".join(planted_lines(demo.planted))
    assert all(p.name in announced for p in demo.planted)


def test_markdown_report_has_the_findings_and_engines_tables(demo: Demo, tmp_path: Path) -> None:
    text = write_report(demo.result, tmp_path, demo.runner_connected, demo).read_text()
    assert "## Findings" in text
    assert "| shop-mysql | automated-backups | CRITICAL |" in text
    assert "| orders-table | point-in-time-recovery | CRITICAL |" in text
    assert "## Recovery points per engine and Region" in text
    [(_, _, _, points, peak, gb, cost)] = [r for r in engine_rows(demo) if r[:2] == ("us-east-1", "dynamodb")]
    assert f"| us-east-1 | dynamodb | dynamodb | {points} | {peak} | {gb:.0f} | {cost:.2f} |" in text
    assert cost == gb * 0.10
    for chart in ("recovery-points.png", "storage-by-engine.png"):
        assert f"]({chart})" in text
        assert (tmp_path / chart).stat().st_size > 1000
    assert "report.html" in text


class _Dom(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: dict[str, dict[str, str | None]] = {}
        self.rows: dict[str, int] = {}
        self.images: list[dict[str, str | None]] = []
        self._table: str | None = None
        self._in_body = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if attributes.get("id"):
            self.ids[str(attributes["id"])] = attributes
        if tag == "table":
            self._table = attributes.get("id")
        elif tag == "tbody":
            self._in_body = True
        elif tag == "tr" and self._in_body and self._table:
            self.rows[self._table] = self.rows.get(self._table, 0) + 1
        elif tag == "img":
            self.images.append(attributes)

    def handle_endtag(self, tag: str) -> None:
        if tag == "tbody":
            self._in_body = False


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    assert found, "Chromium is not installed: run scripts/install-test-servers.sh"
    return found


def _browse(page: Path, tmp_path: Path, *actions: str) -> subprocess.CompletedProcess[str]:
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ]
    return subprocess.run(
        [_chromium(), *flags, *actions, page.as_uri()], capture_output=True, text=True, timeout=120, check=True
    )


def _png_pixels(path: Path) -> tuple[int, int, set[bytes]]:
    """Width, height and a sample of distinct pixels of an 8-bit RGB(A) PNG (Chromium's screenshot)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    offset, chunks, header = 8, b"", b""
    while offset < len(data):
        length = struct.unpack(">I", data[offset : offset + 4])[0]
        kind = data[offset + 4 : offset + 8]
        body = data[offset + 8 : offset + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            chunks += body
        offset += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", header[:10])
    assert depth == 8
    assert colour in (2, 6)
    channels = 3 if colour == 2 else 4
    raw = zlib.decompress(chunks)
    stride = 1 + width * channels
    # Filter bytes make raw rows differ from pixels; distinct raw rows are enough to tell blank from drawn.
    rows = {raw[y * stride + 1 : (y + 1) * stride] for y in range(0, height, 7)}
    return width, height, rows


def test_html_report_renders_in_a_real_browser(demo: Demo, tmp_path: Path) -> None:
    page = write_html_report(demo, tmp_path / "out")
    text = page.read_text()
    # self-contained: no stylesheet, script or image to fetch
    assert "<link" not in text
    assert "<script" not in text
    dom = _Dom()
    dom.feed(_browse(page, tmp_path, "--dump-dom").stdout)
    for section in ("planted", "recovery-points", "storage", "findings", "drills"):
        assert section in dom.ids, section
    assert dom.rows["findings-table"] == len(demo.findings.episodes)
    assert dom.rows["planted-table"] == len(demo.planted)
    assert dom.rows["drills-table"] == len(demo.result.drills)
    rows = engine_rows(demo)
    assert dom.rows["engines-table"] == len(rows)
    assert {(region, service) for region, _, service, *_ in rows} >= {
        ("us-east-1", "rds"),
        ("us-west-2", "rds"),
        ("us-east-1", "dynamodb"),
    }
    assert all(str(i.get("src", "")).startswith("data:image/png;base64,") for i in dom.images)
    charts = {str(i.get("id")) for i in dom.images}
    assert charts == {"chart-recovery-points", "chart-storage", "chart-findings-timeline", "chart-drills"}
    shot = tmp_path / "report.png"
    _browse(page, tmp_path, f"--screenshot={shot}", "--window-size=1200,2400", "--hide-scrollbars")
    width, height, rows = _png_pixels(shot)
    assert (width, height) == (1200, 2400)
    assert len(rows) > 50  # text and charts drawn, not a blank page
