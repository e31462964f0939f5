"""How fast each candidate search index is built, how large it is, and how fast it answers.

Real citizen messages (tests/data/datasets/tipdm2020, attachments 2-4: 7,637 messages, titles
about 20 characters and bodies about 340) are replicated to --cases rows in a SQLite file
(16 KiB pages, WAL, as the store makes them). Each candidate index is built over a copy of it
and timed beside the FTS5 trigram rebuild measured in the same run:

- FTS5 trigram, 'rebuild' from the cases table (today's index, the baseline);
- FTS5 trigram filled in 10,000-case transactions (today's catch-up after a bulk import);
- FTS5 over 1-2-character grams computed in Python (space-separated, ascii tokenizer),
  contentless, detail=none (no positions: the grams find candidates, LIKE checks them);
- the same grams with positions (detail=full), which could answer a phrase without LIKE;
- tantivy over the same grams (document ids only), when the tantivy package is installed.

Then first-page search times (50 ids in id order) for 1-, 2- and 3+-character real words,
each index answering the way it would in the console, with a LIKE scan as the reference;
every answer is checked against the LIKE scan's full result.

    python bench/bench_search.py --cases 100000
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "datasets" / "tipdm2020"
FILES = (
    "attachment2-labelled-sample.xlsx",
    "attachment3-messages-with-votes.xlsx",
    "attachment4-messages-with-replies.xlsx",
)
CHUNK = 10_000
PAGE = 50
WORDS = ("水", "鼠", "小区", "噪音", "幼儿园", "物业管理", "拖欠工资")


def messages() -> list[tuple[str, str]]:
    import openpyxl

    out: list[tuple[str, str]] = []
    for name in FILES:
        book = openpyxl.load_workbook(DATA / name, read_only=True)
        rows = book.active.iter_rows(values_only=True)  # type: ignore[union-attr,unused-ignore]
        head = list(next(rows))
        title, body = head.index("留言主题"), head.index("留言详情")
        for row in rows:
            if row[title] and row[body]:
                out.append((str(row[title]).strip(), str(row[body]).strip()))
        book.close()
    return out


def grams(text: str) -> str:
    """Every 2-character slice of the text and its last character, space-separated."""
    return " ".join([text[i : i + 2] for i in range(len(text))])


def build_base(path: Path, cases: int, found: list[tuple[str, str]]) -> None:
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA page_size=16384")
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute(
        "CREATE TABLE cases (id INTEGER PRIMARY KEY, title TEXT NOT NULL, body TEXT NOT NULL)"
    )
    connection.executemany(
        "INSERT INTO cases VALUES (?, ?, ?)",
        ((i + 1, *found[i % len(found)]) for i in range(cases)),
    )
    connection.commit()
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()


def open_copy(base: Path, name: str) -> tuple[sqlite3.Connection, Path]:
    path = base.with_name(f"{name}.sqlite")
    shutil.copy(base, path)
    connection = sqlite3.connect(path, isolation_level=None)
    connection.create_function("grams", 1, grams, deterministic=True)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    return connection, path


TRIGRAM = (
    "CREATE VIRTUAL TABLE f USING fts5(title, body, content='cases', content_rowid='id', "
    "tokenize='trigram')"
)
GRAMS_NONE = "CREATE VIRTUAL TABLE f USING fts5(g, content='', detail=none, tokenize='ascii')"
GRAMS_FULL = "CREATE VIRTUAL TABLE f USING fts5(title, body, content='', tokenize='ascii')"


def fts_candidate(
    base: Path, name: str, create: str, fill: Callable[[sqlite3.Connection, int], None]
) -> tuple[float, int, sqlite3.Connection]:
    connection, path = open_copy(base, name)
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    before = path.stat().st_size
    connection.execute(create)
    began = time.perf_counter()
    fill(connection, top_id(connection))
    seconds = time.perf_counter() - began
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return seconds, path.stat().st_size - before, connection


def top_id(connection: sqlite3.Connection) -> int:
    return int(connection.execute("SELECT max(id) FROM cases").fetchone()[0])


def rebuild(connection: sqlite3.Connection, top: int) -> None:
    connection.execute("INSERT INTO f(f) VALUES ('rebuild')")


def in_chunks(sql: str) -> Callable[[sqlite3.Connection, int], None]:
    def fill(connection: sqlite3.Connection, top: int) -> None:
        for low in range(1, top + 1, CHUNK):
            connection.execute("BEGIN")
            connection.execute(sql, (low, low + CHUNK))
            connection.execute("COMMIT")

    return fill


def tantivy_candidate(base: Path) -> tuple[float, int, object] | None:
    try:
        import tantivy  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return None
    folder = base.with_name("tantivy")
    folder.mkdir()
    schema = tantivy.SchemaBuilder()
    schema.add_integer_field("id", stored=True, indexed=True, fast=True)
    schema.add_text_field("g", tokenizer_name="whitespace", index_option="basic")
    index = tantivy.Index(schema.build(), path=str(folder))
    source = sqlite3.connect(base)
    began = time.perf_counter()
    writer = index.writer(heap_size=100_000_000, num_threads=1)
    for low in range(1, top_id(source) + 1, CHUNK):
        for cid, title, body in source.execute(
            "SELECT id, title, body FROM cases WHERE id >= ? AND id < ?", (low, low + CHUNK)
        ):
            writer.add_document(tantivy.Document(id=cid, g=grams(title) + " " + grams(body)))
        writer.commit()
    writer.wait_merging_threads()
    seconds = time.perf_counter() - began
    source.close()
    size = sum(f.stat().st_size for f in folder.iterdir())
    index.reload()
    return seconds, size, index


def sql_grams_of(column: str) -> str:
    """grams() in plain SQL (a trigger cannot call Python): json_each walks the positions."""
    positions = (
        f"'[' || substr(replace(hex(zeroblob(length({column}))), '00', '0,'), 1, "
        f"2 * length({column}) - 1) || ']'"
    )
    return (
        f"coalesce((SELECT group_concat(substr({column}, key + 1, 2), ' ') "
        f"FROM json_each({positions})), '')"
    )


def sql_grams(base: Path, found: list[tuple[str, str]]) -> tuple[float, bool]:
    """How fast SQL makes the grams of every case, and whether they are Python's."""
    connection = sqlite3.connect(base)
    began = time.perf_counter()
    rows = connection.execute(
        f"SELECT id, {sql_grams_of('title')}, {sql_grams_of('body')} FROM cases"
    ).fetchall()
    rate = len(rows) / (time.perf_counter() - began)
    connection.close()
    same = all(
        (title, body)
        == (grams(found[(cid - 1) % len(found)][0]), grams(found[(cid - 1) % len(found)][1]))
        for cid, title, body in rows
    )
    return rate, same


def like(term: str) -> str:
    return "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


LIKE_WHERE = "(title LIKE ? ESCAPE '\\' OR body LIKE ? ESCAPE '\\')"


def like_ids(connection: sqlite3.Connection, term: str, limit: int | None) -> list[int]:
    sql = f"SELECT id FROM cases WHERE {LIKE_WHERE} ORDER BY id"
    args: tuple[object, ...] = (like(term), like(term))
    if limit is not None:
        sql += " LIMIT ?"
        args += (limit,)
    return [r[0] for r in connection.execute(sql, args)]


def trigram_ids(connection: sqlite3.Connection, term: str, limit: int | None) -> list[int]:
    """Today's search: FTS5 trigram for 3+ characters, LIKE for shorter words."""
    if len(term) < 3:
        return like_ids(connection, term, limit)
    sql = "SELECT id FROM cases WHERE id IN (SELECT rowid FROM f WHERE f MATCH ?) ORDER BY id"
    args: tuple[object, ...] = ('"' + term.replace('"', '""') + '"',)
    if limit is not None:
        sql += " LIMIT ?"
        args += (limit,)
    return [r[0] for r in connection.execute(sql, args)]


def gram_match(term: str) -> str:
    """Every 2-character slice of the word (a 1-character word: any gram it begins)."""
    if len(term) == 1:
        return '"' + term.replace('"', '""') + '" *'
    parts = {term[i : i + 2] for i in range(len(term) - 1)}
    return " AND ".join('"' + p.replace('"', '""') + '"' for p in sorted(parts))


def grams_ids(connection: sqlite3.Connection, term: str, limit: int | None) -> list[int]:
    """The gram index finds candidates, LIKE keeps the ones that hold the word."""
    sql = (
        "SELECT id FROM cases WHERE id IN (SELECT rowid FROM f WHERE f MATCH ?) "
        f"AND {LIKE_WHERE} ORDER BY id"
    )
    args: tuple[object, ...] = (gram_match(term), like(term), like(term))
    if limit is not None:
        sql += " LIMIT ?"
        args += (limit,)
    return [r[0] for r in connection.execute(sql, args)]


Finder = Callable[[sqlite3.Connection, str, int | None], list[int]]


def timed(find: Finder, connection: sqlite3.Connection, word: str) -> float:
    """The best of three first pages, in milliseconds."""
    best = float("inf")
    for _ in range(3):
        began = time.perf_counter()
        find(connection, word, PAGE)
        best = min(best, time.perf_counter() - began)
    return best * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--dir", type=Path, default=None, help="work folder (default: a temp dir)")
    args = parser.parse_args()
    if not DATA.is_dir():
        raise SystemExit(f"the tipdm2020 messages are not in {DATA}")
    work = Path(tempfile.mkdtemp(dir=args.dir))
    try:
        run(work, args.cases)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(work: Path, cases: int) -> None:
    base = work / "base.sqlite"
    found = messages()
    build_base(base, cases, found)
    print(f"{cases:,} cases from {len(found):,} real messages; load {os.getloadavg()[0]:.1f}")
    print(f"{'index':58s} {'rows/s':>8s} {'× rebuild':>10s} {'size MB':>8s} {'× rebuild':>10s}")
    results: dict[str, sqlite3.Connection] = {}
    baseline: tuple[float, int] | None = None
    candidates: list[tuple[str, str, str, Callable[[sqlite3.Connection, int], None]]] = [
        ("trigram", "FTS5 trigram rebuild (today's index; baseline)", TRIGRAM, rebuild),
        (
            "trigram_chunks",
            "FTS5 trigram in 10,000-case transactions (today's catch-up)",
            TRIGRAM,
            in_chunks(
                "INSERT INTO f(rowid, title, body) SELECT id, title, body FROM cases "
                "WHERE id >= ? AND id < ?"
            ),
        ),
        (
            "grams_none",
            "FTS5 1-2-grams from Python, contentless, detail=none",
            GRAMS_NONE,
            in_chunks(
                "INSERT INTO f(rowid, g) SELECT id, grams(title) || ' ' || grams(body) "
                "FROM cases WHERE id >= ? AND id < ?"
            ),
        ),
        (
            "grams_full",
            "FTS5 1-2-grams from Python, contentless, positions",
            GRAMS_FULL,
            in_chunks(
                "INSERT INTO f(rowid, title, body) SELECT id, grams(title), grams(body) "
                "FROM cases WHERE id >= ? AND id < ?"
            ),
        ),
    ]
    for key, label, create, fill in candidates:
        seconds, size, connection = fts_candidate(base, key, create, fill)
        if baseline is None:
            baseline = (seconds, size)
        show(label, cases, seconds, size, baseline)
        results[key] = connection
    assert baseline is not None
    grams_per_row = sum(len(t) + len(b) for t, b in found) / len(found)
    began = time.perf_counter()
    for title, body in found:
        grams(title)
        grams(body)
    python_rate = len(found) / (time.perf_counter() - began)
    print(
        f"  (computing the grams in Python alone: {python_rate:,.0f} rows/s, "
        f"{grams_per_row:.0f} grams a row)"
    )
    sql_rate, same = sql_grams(base, found)
    print(
        f"  (the same grams made in SQL, as a trigger could: {sql_rate:,.0f} rows/s; "
        f"identical to Python's for every message: {'yes' if same else 'NO'})"
    )
    tv = tantivy_candidate(base)
    if tv is None:
        print("tantivy: not installed (pip install tantivy to measure it)")
    else:
        show("tantivy 1-2-grams from Python, ids only, one thread", cases, tv[0], tv[1], baseline)

    print()
    print("first page (50 ids), best of 3, ms; every full answer checked against LIKE")
    head = ("word", "hits", "LIKE scan", "trigram (today)", "grams+LIKE")
    print(f"{head[0]:10s} {head[1]:>7s} {head[2]:>10s} {head[3]:>16s} {head[4]:>11s}")
    reference = results["trigram"]
    for word in WORDS:
        expected = like_ids(reference, word, None)
        like_ms = timed(like_ids, reference, word)
        tri_ms = timed(trigram_ids, reference, word)
        gram_ms = timed(grams_ids, results["grams_none"], word)
        assert trigram_ids(reference, word, None) == expected, word
        assert grams_ids(results["grams_none"], word, None) == expected, word
        print(f"{word:10s} {len(expected):7,d} {like_ms:10.1f} {tri_ms:16.1f} {gram_ms:11.1f}")
    for connection in results.values():
        connection.close()


def show(label: str, cases: int, seconds: float, size: int, baseline: tuple[float, int]) -> None:
    rate = cases / seconds
    print(
        f"{label:58s} {rate:8,.0f} {baseline[0] / seconds:9.2f}× "
        f"{size / 1e6:8.1f} {size / baseline[1]:9.2f}×",
        flush=True,
    )


if __name__ == "__main__":
    main()
