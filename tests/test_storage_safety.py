"""The data dir and the journal under damage and hostility, through real daemon processes and
real SQLite files: corrupt journals never rotate good backups away, empty, table-less and
read-only journals are refused, files never follow symlinks and are private whatever the umask.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from polytui.journal import Journal, JournalError, encode_payload
from polytui.strategy.sizing import size_trade

CLI = [sys.executable, "-c", "from polytui.cli import main; main()"]


@pytest.fixture
def work(tmp_path: Path) -> Iterator[Path]:
    runtime = Path(tempfile.mkdtemp(prefix="pss", dir="/tmp"))
    (tmp_path / "run").symlink_to(runtime)
    yield tmp_path
    shutil.rmtree(runtime, ignore_errors=True)


def _config(work: Path, data: Path, extra: str = "") -> Path:
    config = work / "config.toml"
    config.write_text(
        f'[storage]\ndata_dir = "{data}"\n{extra}\n'
        "[feeds]\nactivity_enabled = false\nchain_enabled = false\n"
        "dataapi_poll_enabled = false\n"
    )
    return config


def _daemon(work: Path, config: Path, umask: int | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "XDG_RUNTIME_DIR": str((work / "run").resolve())}
    prefix = [] if umask is None else [f"import os; os.umask({umask:#o}); "]
    code = "".join(prefix) + "from polytui.cli import main; main()"
    return subprocess.run(
        [sys.executable, "-c", code, "--daemon", "--config", str(config)],
        env=env,
        capture_output=True,
        text=True,
        timeout=40,
    )


def _good_journal(path: Path, rows: int = 200) -> None:
    journal = Journal.open(path, mode="paper")
    for n in range(rows):
        journal.append("note", {"n": n, "pad": "x" * 200})
    journal.flush()
    journal.close()


def _quick_ok(path: Path) -> bool:
    conn = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
    try:
        return conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
    except sqlite3.DatabaseError:
        return False
    finally:
        conn.close()


def _one_line(out: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in out.stderr, out.stderr
    lines = [line for line in out.stderr.splitlines() if line.startswith("polytui")]
    assert len(lines) == 1, out.stderr
    return lines[0]


# --- item 4: corruption and backups -----------------------------------------------------------


def test_a_corrupt_journal_never_rotates_the_good_backups_away(work: Path) -> None:
    data = work / "data"
    data.mkdir(mode=0o700)
    journal = data / "paper.db"
    _good_journal(journal)
    backups = data / "backups"
    backups.mkdir(mode=0o700)
    good = []
    for n in range(5):
        copy = backups / f"paper-2026110{n + 1}T000000000000Z.db"
        shutil.copy(journal, copy)
        good.append(copy)
    with open(journal, "r+b") as handle:  # 16 KB of noise from page 3 on
        handle.seek(2 * 4096)
        handle.write(os.urandom(16 * 1024))
    config = _config(work, data)
    for _ in range(5):  # the shipped unit restarts a failing daemon five times
        out = _daemon(work, config)
        assert out.returncode == 1
        line = _one_line(out)
        assert "corrupt" in line and f"newest good backup is {good[-1]}" in line
        assert f"cp {good[-1]} {journal}" in line
    assert sorted(backups.iterdir()) == good
    assert all(_quick_ok(copy) for copy in good)


def test_a_corrupt_backup_is_never_named_as_the_one_to_restore(tmp_path: Path) -> None:
    journal = tmp_path / "paper.db"
    _good_journal(journal)
    (tmp_path / "backups").mkdir()
    older = tmp_path / "backups" / "paper-20261101T000000000000Z.db"
    newer = tmp_path / "backups" / "paper-20261102T000000000000Z.db"
    shutil.copy(journal, older)
    newer.write_bytes(journal.read_bytes()[: 4096 * 3])
    journal.write_bytes(journal.read_bytes()[: len(journal.read_bytes()) // 2])
    with pytest.raises(JournalError, match=f"newest good backup is {older}"):
        Journal.open(journal, mode="paper")


def test_storage_backups_is_the_number_of_generations_kept(work: Path) -> None:
    path = work / "paper.db"
    _good_journal(path, rows=3)
    for _ in range(6):
        Journal.open(path, mode="paper", backups=3).close()
    copies = sorted((work / "backups").glob("paper-*.db"))
    assert len(copies) == 3 and all(_quick_ok(c) for c in copies)


@pytest.mark.parametrize("damage", ["empty", "tableless"])
def test_an_empty_or_table_less_journal_in_a_used_data_dir_is_refused(
    work: Path, damage: str
) -> None:
    data = work / "data"
    data.mkdir(mode=0o700)
    journal = data / "paper.db"
    _good_journal(journal)
    Journal.open(journal, mode="paper").close()  # a backup to restore from
    if damage == "empty":
        journal.write_bytes(b"")
    else:
        journal.unlink()
        conn = sqlite3.connect(journal)
        conn.execute("CREATE TABLE t (x)")
        conn.execute("DROP TABLE t")
        conn.close()
        assert journal.stat().st_size > 0
    before = journal.read_bytes()
    out = _daemon(work, _config(work, data))
    assert out.returncode == 1
    line = _one_line(out)
    assert "corrupt" in line and "newest good backup is" in line
    assert journal.read_bytes() == before  # not started afresh with the balance reset


# --- item 9: read-only -------------------------------------------------------------------------


def test_a_read_only_journal_refuses_to_start(work: Path) -> None:
    data = work / "data"
    data.mkdir(mode=0o700)
    _good_journal(data / "paper.db")
    (data / "paper.db").chmod(0o400)
    out = _daemon(work, _config(work, data))
    assert out.returncode == 1
    assert "read-only" in _one_line(out)


def test_a_read_only_data_dir_refuses_to_start(work: Path) -> None:
    data = work / "data"
    data.mkdir(mode=0o700)
    _good_journal(data / "paper.db")
    data.chmod(0o500)
    try:
        out = _daemon(work, _config(work, data))
    finally:
        data.chmod(0o700)
    assert out.returncode == 1
    assert "read-only" in _one_line(out)


# --- item 6: symlinks, ownership, modes ----------------------------------------------------------


def test_the_pidfile_never_follows_a_symlink(work: Path) -> None:
    data = work / "data"
    data.mkdir(mode=0o700)
    victim = work / "bashrc"
    victim.write_text("precious\n")
    (data / "daemon.pid").symlink_to(victim)
    out = _daemon(work, _config(work, data))
    assert out.returncode == 1
    assert "symlink" in _one_line(out)
    assert victim.read_text() == "precious\n"


def test_a_symlinked_journal_is_refused_and_its_target_untouched(work: Path) -> None:
    data = work / "data"
    data.mkdir(mode=0o700)
    victim = work / "elsewhere.db"
    _good_journal(victim)
    before = victim.read_bytes()
    (data / "paper.db").symlink_to(victim)
    out = _daemon(work, _config(work, data))
    assert out.returncode == 1
    assert "symlink" in _one_line(out)
    assert victim.read_bytes() == before


def test_a_group_or_world_writable_data_dir_is_refused(work: Path) -> None:
    data = work / "shared"
    data.mkdir()
    data.chmod(0o777)
    out = _daemon(work, _config(work, data))
    assert out.returncode == 1
    assert "writable by group or others (mode 0777)" in _one_line(out)
    assert list(data.iterdir()) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to hand a directory to another user")
def test_a_data_dir_of_another_user_is_refused(work: Path) -> None:
    data = work / "theirs"
    data.mkdir(mode=0o700)
    os.chown(data, 65534, 65534)
    out = _daemon(work, _config(work, data))
    assert out.returncode == 1
    assert "belongs to uid 65534" in _one_line(out)


def test_files_are_private_whatever_the_umask_and_foreign_dirs_keep_their_mode(
    work: Path,
) -> None:
    parent = work / "home"
    parent.mkdir()
    parent.chmod(0o755)  # the user's own directory: not ours to chmod
    data = parent / "polytui"
    config = _config(work, data)
    journal = Journal.open(data / "paper.db", mode="paper")  # an older run's files, 0644
    journal.close()
    (data / "paper.db").chmod(0o644)
    data.chmod(0o755)
    # A start under umask 022 (it takes a backup of the existing journal), then SIGTERM.
    env = {**os.environ, "XDG_RUNTIME_DIR": str((work / "run").resolve())}
    proc = subprocess.Popen(
        [sys.executable, "-c", "import os; os.umask(0o022); from polytui.cli import main; main()",
         "--daemon", "--config", str(config)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while not (work / "run" / "polytui" / "polytui.sock").exists():
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        proc.terminate()
        proc.wait(20)
    assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
    modes = {p.name: p.stat().st_mode & 0o777 for p in data.rglob("*") if p.is_file()}
    assert modes and all(mode == 0o600 for mode in modes.values()), modes
    assert (data / "backups").stat().st_mode & 0o777 == 0o700
    assert parent.stat().st_mode & 0o777 == 0o755
    assert data.stat().st_mode & 0o777 == 0o755  # existed before: never chmod'ed


def test_a_new_data_dir_is_created_0700_under_umask_022(work: Path) -> None:
    data = work / "new" / "polytui"
    code = (
        "import os, sys; os.umask(0o022); from pathlib import Path; "
        "from polytui.pidlock import DataDirLock; DataDirLock(Path(sys.argv[1])).acquire()"
    )
    subprocess.run([sys.executable, "-c", code, str(data)], check=True, timeout=30)
    assert data.stat().st_mode & 0o777 == 0o700
    assert (work / "new").stat().st_mode & 0o777 == 0o700
    assert (data / "daemon.pid").stat().st_mode & 0o777 == 0o600


# --- item 13: plain decimals --------------------------------------------------------------------


def test_shares_are_plain_decimals_never_exponents() -> None:
    sized = size_trade(
        net=Decimal("0.8"),
        avg_price=Decimal("0.1"),
        fee_per_share=Decimal(0),
        cash=Decimal(10_000),
        margin=Decimal("0.01"),
        kelly_mult=Decimal(1),
        kelly_cap=Decimal(1),
        max_bet_usd=Decimal(20),
        min_shares=Decimal(5),
    )
    assert str(sized.shares) == "200.00"
    assert encode_payload({"shares": Decimal("2E+2")}) == '{"shares":"200"}'


async def test_the_control_socket_never_chmods_a_directory_it_did_not_create(work: Path) -> None:
    from polytui.clock import FakeClock
    from polytui.control import ControlServer
    from polytui.tui.fixtures import SCENARIO_START, build_scenario

    home = work / "victim-home"
    home.mkdir()
    home.chmod(0o755)
    planted = (work / "run").resolve() / "polytui"  # a symlink named like our own directory
    planted.symlink_to(home)
    server = ControlServer(build_scenario(FakeClock(SCENARIO_START)), planted / "polytui.sock")
    await server.start()
    await server.close()
    assert home.stat().st_mode & 0o777 == 0o755
