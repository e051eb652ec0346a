"""The journal: a SQLite file (WAL) per mode holding every trading record.

``events`` is append-only (signals, decisions with reasons, intent transitions, order status
history, fills, settlements). Small derived state (strategy and portfolio snapshots, flags)
lives in ``state``; equity snapshots in ``equity``; whale history, cursors and profiles in
``history_rows``, ``history_cursors`` and ``wallet_profiles``. Money is stored as decimal text
and a float anywhere in a payload is refused, so binary rounding can never reach the books.

One ``Journal`` owns one connection and must be used from one thread (the engine's loop).

The parts, each with one job:

- ``schema``: the tables and their forward migrations (``SCHEMA_VERSION``).
- ``files``: where the file lives and which files are refused (symlinks, read-only, foreign,
  corrupt), with the restore hint a corrupt file's error carries.
- ``payloads``: payload text (Decimal as text, floats refused) and ``JournalEvent``.
- ``writer``: the write path that keeps every row through a failing disk.
- ``store``: ``Journal`` itself: opening, reading, the derived tables, backups.
"""

from polytui.journal.files import JournalError, journal_path, newest_good_backup
from polytui.journal.payloads import JournalEvent, encode_payload
from polytui.journal.schema import MIGRATIONS, SCHEMA_VERSION
from polytui.journal.store import Journal
from polytui.journal.writer import BACKUP_GENERATIONS, RETRY_EVERY_S

__all__ = [
    "BACKUP_GENERATIONS",
    "MIGRATIONS",
    "RETRY_EVERY_S",
    "SCHEMA_VERSION",
    "Journal",
    "JournalError",
    "JournalEvent",
    "encode_payload",
    "journal_path",
    "newest_good_backup",
]
