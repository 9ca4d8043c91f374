"""FASTA reading and in-silico digestion: real UniProt databases (checked against a plain line scan here),
pyteomics' own edge-case file, and hand-worked digests."""

from __future__ import annotations

import gzip

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from proteomics.errors import InputError
from proteomics.io.fasta import (
    FASTA_COLUMNS,
    count_observable_peptides,
    parse_header,
    read_fasta,
    sniff_fasta,
)
from proteomics.io.registry import peek
from tests.conftest import need_shared

HUMAN = ("quantms_testdata_sdrf_fasta", "top1k_human.fasta")


def _plain_entries(path):
    """(header, sequence) pairs by a plain line scan."""
    out, head, seq = [], None, []
    for line in path.read_text().splitlines():
        if line.startswith(">"):
            if head is not None:
                out.append((head, "".join(seq)))
            head, seq = line[1:], []
        elif line.strip():
            seq.append(line.strip())
    out.append((head, "".join(seq)))
    return out


def test_uniprot_database():
    path = need_shared(*HUMAN)
    df = read_fasta(path)
    plain = _plain_entries(path)
    assert list(df.columns) == list(FASTA_COLUMNS)
    assert len(df) == len(plain) == 994
    assert df["sequence"].tolist() == [s for _, s in plain]
    first = df.iloc[0]
    # >sp|Q9NYL2|M3K20_HUMAN Mitogen-activated protein kinase kinase kinase 20 OS=Homo sapiens OX=9606 GN=MAP3K20 PE=1 SV=3
    assert first["accession"] == "Q9NYL2" and first["entry_name"] == "M3K20_HUMAN"
    assert first["gene"] == "MAP3K20" and first["organism"] == "Homo sapiens"
    assert first["description"] == "Mitogen-activated protein kinase kinase kinase 20"
    assert df["accession"].tolist() == [h.split("|")[1] for h, _ in plain]


def test_non_uniprot_headers_fall_back_to_first_token():
    path = need_shared("quantms_testdata_sdrf_fasta", "yeast_UPS.fasta")
    df = read_fasta(path)
    assert len(df) == 6099
    ups = df[df["accession"] == "P02768ups"].iloc[0]  # sp|P02768ups|ALBU_HUMAN_UPS Serum albumin (Chain 26-609) - ...
    assert ups["entry_name"] == "ALBU_HUMAN_UPS" and ups["gene"] == ""
    assert parse_header("IPI:IPI00013808.1|SWISS-PROT:O43707 Alpha-actinin-4") == {
        "accession": "IPI:IPI00013808.1|SWISS-PROT:O43707", "entry_name": "", "gene": "",
        "description": "Alpha-actinin-4", "organism": ""}
    assert parse_header("sp|P02768|ALBU_HUMAN Albumin OS=Homo sapiens OX=9606 GN=ALB PE=1 SV=2") == {
        "accession": "P02768", "entry_name": "ALBU_HUMAN", "gene": "ALB", "description": "Albumin",
        "organism": "Homo sapiens"}


def test_pyteomics_edge_case_file():
    # ';' lines are old-style headers; '*' ends a sequence; blank lines are skipped (as pyteomics reads it)
    df = read_fasta(need_shared("pyteomics_tests", "test.fasta"))
    assert df["sequence"].tolist() == ["TEST", "TEST", "TEST"]
    assert df["description"].tolist()[1:] == ["sequence 3", "sequence 4"]


def test_gzip(tmp_path):
    src = need_shared(*HUMAN)
    gz = tmp_path / "db.fasta.gz"
    gz.write_bytes(gzip.compress(src.read_bytes()))
    assert read_fasta(gz).equals(read_fasta(src))


@pytest.mark.parametrize("text, line, what", [
    ("", 1, "empty"),
    ("MKVL\n>sp|P1|X_HUMAN a\nMK\n", 1, "before the first"),
    (">a\n>b\nMKV\n", 1, "without a sequence"),
    (">a\nMKV\n>b\n", 3, "truncated"),
    (">a\nMK1V\n", 2, "non-letters"),
])
def test_bad_fasta(tmp_path, text, line, what):
    p = tmp_path / "bad.fasta"
    p.write_text(text)
    with pytest.raises(InputError, match=what) as exc:
        read_fasta(p)
    assert exc.value.path == str(p) and exc.value.line == line


def test_fake_gzip(tmp_path):
    p = tmp_path / "x.fasta.gz"
    p.write_text(">a\nMK\n")
    with pytest.raises(InputError, match="not gzip"):
        read_fasta(p)


def test_sniff(tmp_path):
    assert sniff_fasta(peek(need_shared(*HUMAN))) == 1.0
    assert sniff_fasta(peek(need_shared("pyteomics_tests", "test.fasta"))) > 0
    assert sniff_fasta(peek(need_shared("pyteomics_tests", "test.mzid"))) == 0.0
    assert sniff_fasta(peek(need_shared("alphapeptstats_mzTab", "test.mztab"))) == 0.0


def test_fasta_is_not_a_quant_reader():
    import proteomics.io.fasta  # noqa: F401  (importing it must not register a reader)
    from proteomics.io import READERS

    assert "fasta" not in READERS and all(r.read is not read_fasta for r in READERS.values())


def test_count_observable_peptides_by_hand():
    # trypsin cuts after K/R unless P follows: MK | AAAAAAKPR | LLLLLLR → lengths 2, 9, 7
    assert count_observable_peptides("MKAAAAAAKPRLLLLLLR") == 2
    assert count_observable_peptides("MKAAAAAAKPRLLLLLLR", min_len=2) == 3
    assert count_observable_peptides("MKAAAAAAKPRLLLLLLR", max_len=8) == 1
    # identical peptides count once: GGGGGGK twice, plus the C-terminal GGGGGGR
    assert count_observable_peptides("GGGGGGKGGGGGGKGGGGGGR") == 2
    assert count_observable_peptides("") == 0
    with pytest.raises(InputError):
        count_observable_peptides("MKV", enzyme="[")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_mutated_fasta_gives_frame_or_input_error(tmp_path, data):
    lines = need_shared(*HUMAN).read_text().splitlines(keepends=True)[:400]
    op = data.draw(st.sampled_from(["drop", "dup", "cut", "garble", "truncate"]))
    i = data.draw(st.integers(0, len(lines) - 1))
    if op == "drop":
        del lines[i]
    elif op == "dup":
        lines.insert(i, lines[i])
    elif op == "cut":
        lines[i] = lines[i][: data.draw(st.integers(0, len(lines[i])))]
    elif op == "garble":
        lines[i] = data.draw(st.sampled_from([">", ">\n", "123\n", "\x00\n", "  \n", ";c\n", "ACD EF\n"]))
    else:
        lines = lines[:i]
    p = tmp_path / "mut.fasta"
    p.write_text("".join(lines))
    try:
        df = read_fasta(p)
    except InputError:
        return
    assert list(df.columns) == list(FASTA_COLUMNS) and len(df) > 0
