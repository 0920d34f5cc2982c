"""Ingest: formats, column mapping, encodings, dates, CSV recovery, chunking (no model needed)."""

from __future__ import annotations

import gzip
import json
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from pipeline.config import ColumnMap, IngestConfig
from pipeline.ingest import InputError, SourceInfo, iter_records, parse_date, redact_source

from ops_fixtures import feedback_rows, write_csv


def ingest(path: Path | str, cfg: IngestConfig | None = None):
    """All records and quarantine rows of ``path``, plus the SourceInfo."""
    info = SourceInfo(source=str(path), format="")
    chunks = list(iter_records(str(path), cfg or IngestConfig(), info))
    records = pd.concat([c.records for c in chunks], ignore_index=True) if chunks else pd.DataFrame()
    quarantine = pd.concat([c.quarantine for c in chunks], ignore_index=True) if chunks else pd.DataFrame()
    return records, quarantine, info


def reasons(quarantine: pd.DataFrame) -> list[str]:
    return quarantine["reason"].str.split(" ").str[0].tolist() if len(quarantine) else []


# -- dates -----------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2024-07-29", date(2024, 7, 29)),  # ISO
        ("2024-07-29T23:10:00Z", date(2024, 7, 29)),  # ISO timestamp: the date part
        ("2024/07/29", date(2024, 7, 29)),  # Gregorian with slashes
        ("۱۴۰۳/۰۵/۰۸", date(2024, 7, 29)),  # Jalali, Persian digits
        ("1403-05-08", date(2024, 7, 29)),  # Jalali, ASCII digits, ISO-like
        ("١٤٠٣/٠٥/٠٨", date(2024, 7, 29)),  # Jalali, Arabic-Indic digits
        ("۱۴۰۳/۰۵/۰۸ ۱۴:۳۰", date(2024, 7, 29)),  # Jalali with a time
        ("1402/12/29", date(2024, 3, 19)),  # last day of a Jalali year
        ("", None),  # empty: no date, not an error
    ],
)
def test_parse_date_gregorian_and_jalali(raw, expected):
    assert parse_date(raw) == expected


@pytest.mark.parametrize("raw", ["1403/13/01", "yesterday", "2024-02-30", "۱۴۰۳/۰۵/۴۰"])
def test_parse_date_rejects_invalid(raw):
    with pytest.raises(ValueError):
        parse_date(raw)


# -- formats and column mapping ----------------------------------------------------------------

def _frame(n=6):
    rows = feedback_rows(n)
    for r in rows:
        r["nps"] = "9"
    return pd.DataFrame(rows)


@pytest.mark.parametrize("fmt", ["csv", "tsv", "jsonl", "parquet", "xlsx", "csv.gz", "jsonl.gz"])
def test_every_format_reads_the_same_records(tmp_path, fmt):
    frame = _frame()
    path = tmp_path / f"feed.{fmt}"
    base = fmt.removesuffix(".gz")
    if base == "csv":
        data = frame.to_csv(index=False).encode()
    elif base == "tsv":
        data = frame.to_csv(index=False, sep="\t").encode()
    elif base == "jsonl":
        data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in frame.to_dict("records")).encode()
    if base == "parquet":
        frame.to_parquet(path)
    elif base == "xlsx":
        frame.to_excel(path, index=False)
    else:
        path.write_bytes(gzip.compress(data) if fmt.endswith(".gz") else data)
    records, quarantine, info = ingest(path)
    assert len(records) == 6 and len(quarantine) == 0
    assert records["record_id"].tolist() == frame["id"].tolist()
    assert records["text"].tolist() == frame["text"].tolist()
    assert set(records["region"]) == {"Tehran", "Cairo"}
    assert records["created_at"].tolist() == [date(2026, 8, 1)] * 6
    assert records["score_kind"].tolist() == ["rating"] * 6  # rating wins over nps
    assert info.compression == ("gzip" if fmt.endswith(".gz") else None)


def test_column_mapping_by_config(tmp_path):
    frame = pd.DataFrame(
        {"msg": ["غذا سرد بود", "عالی"], "ticket": ["t1", "t2"], "when": ["۱۴۰۳/۰۵/۰۸", "2024-07-30"],
         "area": ["Shiraz", "Tabriz"], "score_nps": ["3", "10"]}
    )
    path = write_csv(tmp_path / "mapped.csv", frame.to_dict("records"))
    cols = ColumnMap(text="msg", id="ticket", created_at="when", region="area", nps="score_nps", rating=None)
    records, _, info = ingest(path, IngestConfig(columns=cols))
    assert records["record_id"].tolist() == ["t1", "t2"]
    assert records["created_at"].tolist() == [date(2024, 7, 29), date(2024, 7, 30)]
    assert records["region"].tolist() == ["Shiraz", "Tabriz"]
    assert records["score_kind"].tolist() == ["nps", "nps"] and records["score"].tolist() == [3.0, 10.0]
    assert info.columns["nps"] == "score_nps"


def test_an_explicitly_mapped_column_that_is_absent_is_an_input_error(tmp_path):
    path = write_csv(tmp_path / "f.csv", feedback_rows(2))
    with pytest.raises(InputError, match="created_at column 'fecha'"):
        ingest(path, IngestConfig(columns=ColumnMap(created_at="fecha")))


def test_missing_text_column_names_the_columns_and_the_flag(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text("id,body\n1,x\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"no text column 'text'.*'body'.*--text-column"):
        ingest(path)


def test_records_without_id_are_keyed_by_content_hash(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text("text\nغذا سرد بود\nغذا   سرد بود\nعالی بود\n", encoding="utf-8")
    records, quarantine, _ = ingest(path)
    assert records["record_key"].str.startswith("h:").all()
    assert reasons(quarantine) == ["duplicate_text"]  # same text modulo whitespace


def test_chunking_gives_the_same_rows_and_row_numbers(tmp_path):
    rows = feedback_rows(50)
    rows[10]["text"] = ""
    rows[30]["id"] = rows[29]["id"]
    path = write_csv(tmp_path / "f.csv", rows)
    big = ingest(path, IngestConfig(chunk_size=1000))
    small = ingest(path, IngestConfig(chunk_size=7))
    pd.testing.assert_frame_equal(big[0], small[0])
    pd.testing.assert_frame_equal(big[1], small[1])
    assert big[1]["row_number"].tolist() == [11, 31]
    assert big[1]["line_number"].tolist() == [12, 32]


# -- encodings ---------------------------------------------------------------------------------

# Windows-1256 has the Arabic yeh (ي), not the Persian one (ی): legacy Persian files use it.
TEXT = "id,text\n1,سفارش دير رسيد\n2,الطلب وصل متأخر\n"


@pytest.mark.parametrize(
    ("encoding", "prefix", "expected", "reason"),
    [
        ("utf-8", b"", "utf-8", "valid UTF-8"),
        ("utf-8", b"\xef\xbb\xbf", "utf-8-sig", "byte order mark"),
        ("utf-16", b"", "utf-16", "byte order mark"),  # Python writes a BOM
        ("cp1256", b"", "cp1256", "Windows-1256"),
    ],
)
def test_encoding_is_detected_and_stated(tmp_path, encoding, prefix, expected, reason):
    path = tmp_path / "f.csv"
    path.write_bytes(prefix + TEXT.encode(encoding))
    records, quarantine, info = ingest(path)
    assert records["text"].tolist() == ["سفارش دير رسيد", "الطلب وصل متأخر"]
    assert len(quarantine) == 0
    assert info.encoding == expected and info.encoding_detected
    assert reason in info.encoding_reason


def test_given_encoding_is_used_and_stated_as_given(tmp_path):
    path = tmp_path / "f.csv"
    path.write_bytes(TEXT.encode("cp1256"))
    records, _, info = ingest(path, IngestConfig(encoding="cp1256"))
    assert records["text"].iloc[0] == "سفارش دير رسيد"
    assert (info.encoding, info.encoding_detected, info.encoding_reason) == ("cp1256", False, "given")


def test_unknown_encoding_is_an_input_error(tmp_path):
    path = write_csv(tmp_path / "f.csv", feedback_rows(1))
    with pytest.raises(InputError, match="unknown encoding"):
        ingest(path, IngestConfig(encoding="klingon-8"))


def test_mixed_encodings_quarantine_only_the_foreign_lines(tmp_path):
    lines = [f"{i},سفارش شماره {i} دیر رسید\n".encode() for i in range(20)]
    lines[5] = "5,سفارش خراب بود\n".encode("cp1256")  # a Windows-1256 line in a UTF-8 file
    path = tmp_path / "f.csv"
    path.write_bytes(b"id,text\n" + b"".join(lines))
    records, quarantine, info = ingest(path)
    assert info.encoding == "utf-8" and "mixed encodings" in info.encoding_reason
    assert len(records) == 19
    assert quarantine[["row_number", "line_number"]].values.tolist() == [[6, 7]]
    assert reasons(quarantine) == ["undecodable_bytes"]


def test_utf8_line_in_a_cp1256_file_is_quarantined_not_garbled(tmp_path):
    lines = [f"{i},سفارش شماره {i} خراب رسيد\n".encode("cp1256") for i in range(20)]
    lines[3] = "3,سفارش سالم\n".encode()
    path = tmp_path / "f.csv"
    path.write_bytes(b"id,text\n" + b"".join(lines))
    records, quarantine, info = ingest(path)
    assert info.encoding == "cp1256"
    assert len(records) == 19 and reasons(quarantine) == ["undecodable_bytes"]
    assert not records["text"].str.contains("Ø").any()


# -- CSV recovery ------------------------------------------------------------------------------

def test_embedded_newlines_in_quoted_fields_are_one_record(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text('id,text\n1,"خط اول\nخط دوم"\n2,ساده\n', encoding="utf-8")
    records, quarantine, _ = ingest(path)
    assert records["text"].tolist() == ["خط اول\nخط دوم", "ساده"]
    assert len(quarantine) == 0


def test_unbalanced_quote_costs_one_line_and_parsing_resumes(tmp_path):
    body = ['1,"never closed', "2,ok two", "3,ok three", '4,a "quoted" word inside', '5,"x"y', "6,last"]
    path = tmp_path / "f.csv"
    path.write_text("id,text\n" + "\n".join(body) + "\n", encoding="utf-8")
    records, quarantine, _ = ingest(path)
    assert records["record_id"].tolist() == ["2", "3", "4", "6"]
    assert quarantine["line_number"].tolist() == [2, 6]
    assert reasons(quarantine) == ["unbalanced_quote", "malformed_row"]
    assert len(records) + len(quarantine) == len(body)  # no row lost


def test_a_stray_quote_cannot_swallow_the_rest_of_the_file(tmp_path):
    body = ['1,"opens and never closes'] + [f"{i},row {i}" for i in range(2, 3000)]
    path = tmp_path / "f.csv"
    path.write_text("id,text\n" + "\n".join(body) + "\n", encoding="utf-8")
    records, quarantine, _ = ingest(path, IngestConfig(max_record_lines=100))
    assert len(records) == 2998 and reasons(quarantine) == ["unbalanced_quote"]


def test_wrong_field_count_is_quarantined_with_its_line(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text("id,text\n1,a,extra\n2,b\n3\n", encoding="utf-8")
    records, quarantine, _ = ingest(path)
    assert records["record_id"].tolist() == ["2"]
    assert quarantine["line_number"].tolist() == [2, 4]
    assert quarantine["reason"].tolist() == [
        "malformed_row (3 fields, expected 2)",
        "malformed_row (1 fields, expected 2)",
    ]


def test_blank_lines_are_counted_not_read(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text("id,text\n1,a\n\n2,b\n\n", encoding="utf-8")
    records, quarantine, info = ingest(path)
    assert len(records) == 2 and len(quarantine) == 0 and info.blank_lines == 2


def test_jsonl_bad_lines_are_quarantined(tmp_path):
    path = tmp_path / "f.jsonl"
    path.write_text('{"id": 1, "text": "خوب"}\n{"id": 2, "text": \n[1, 2]\n{"id": 3, "text": "بد"}\n', encoding="utf-8")
    records, quarantine, _ = ingest(path)
    assert records["record_id"].tolist() == ["1", "3"]
    assert reasons(quarantine) == ["malformed_json", "malformed_json"]
    assert quarantine["line_number"].tolist() == [2, 3]


def test_unparsable_date_and_bad_score(tmp_path):
    rows = feedback_rows(3)
    rows[0]["created_at"] = "not a date"
    rows[1]["rating"] = "five"
    path = write_csv(tmp_path / "f.csv", rows)
    records, quarantine, info = ingest(path)
    assert reasons(quarantine) == ["unparsable_date"]
    assert "'not a date'" in quarantine["reason"].iloc[0]
    assert len(records) == 2 and records["score"].isna().sum() == 1  # kept, without a score
    assert info.unparsable_scores == 1


def test_sql_password_is_redacted():
    assert redact_source("postgresql://u:s3cret@db:5432/x") == "postgresql://u:***@db:5432/x"
    assert redact_source("data/feed.csv") == "data/feed.csv"


def test_validation_precedence_typed_values_and_keys_across_chunks(tmp_path):
    """Each row gets the first reason that applies; only accepted rows claim a key or count a score.

    JSON keeps value types, so ids, segments and scores arrive as str, int, float and bool:
    equal in Python (1 == 1.0 == True) but not as text.
    """
    rows = [
        {"id": 1, "text": "اول", "channel": 5, "rating": "۴"},  # id "1"
        {"id": "1", "text": "دوم"},  # duplicate_id of row 1
        {"id": 1.0, "text": "سوم"},  # "1" again
        {"id": True, "text": "چهارم", "channel": 5.0, "rating": True},  # "True", "5.0", no score
        {"id": "7", "text": "   ", "created_at": "not a date"},  # empty text wins over the date
        {"id": "8", "text": "پنجم", "created_at": "not a date"},  # unparsable: "8" stays free
        {"id": " 8 ", "text": "ششم", "created_at": "1403-05-08", "rating": "bad"},  # accepted as "8"
        {"id": None, "text": "بدون شناسه"},  # keyed by the text hash
        {"id": "", "text": "بدون  شناسه", "rating": "bad"},  # same hash: duplicate, score not counted
        {"id": "9", "text": "x\x00\x00y", "created_at": "not a date"},  # binary wins over the date
        {"id": "10", "text": 12, "channel": " web ", "rating": 3},  # a number as text
    ]
    path = tmp_path / "f.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    for chunk_size in (1000, 3, 1):  # the same answers whatever the chunking
        records, quarantine, info = ingest(path, IngestConfig(chunk_size=chunk_size))
        assert quarantine["row_number"].tolist() == [2, 3, 5, 6, 9, 10]
        assert reasons(quarantine) == [
            "duplicate_id", "duplicate_id", "empty_text", "unparsable_date", "duplicate_text", "binary_garbage"
        ]  # fmt: skip
        assert quarantine["record_id"].fillna("-").tolist() == ["1", "1", "7", "8", "-", "9"]
        assert records["record_id"].tolist()[:4] == ["1", "True", "8", records["record_key"].iloc[3]]
        assert records["record_key"].iloc[3].startswith("h:")
        assert records["text"].tolist()[-1] == "12"
        assert records["channel"].fillna("-").tolist() == ["5", "5.0", "-", "-", "web"]
        assert records["score"].fillna(-1).tolist() == [4.0, -1, -1, -1, 3.0]  # "True" is no score
        assert records["score_kind"].fillna("-").tolist() == ["rating", "-", "-", "-", "rating"]
        assert records["created_at"].tolist()[2] == date(2024, 7, 29)
        assert info.unparsable_scores == 2  # True and row 7's "bad"; row 9's is on a quarantined row
