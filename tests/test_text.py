"""One rule for text files (proteomics._text): encoding, decoding, delimiter — against hand-made bytes."""

from __future__ import annotations

import pytest

from proteomics._text import decode_text, sniff_delimiter, sniff_encoding
from proteomics.errors import InputError


@pytest.mark.parametrize("header,expected", [
    ("run\tsample\tcondition", "\t"),
    ("Protein\tIntensity (a, b, c)", "\t"),          # commas inside tab-separated names
    ("run,sample,condition", ","),
    ("run;sample;age, years", ";"),                  # a semicolon sheet with a comma in a column name
    ("run;sample", ";"),
    ("run,sample;x", ","),                           # tie → comma
    ("protein", "\t"),                               # a single column
])
def test_sniff_delimiter(header, expected):
    assert sniff_delimiter(header) == expected


@pytest.mark.parametrize("codec,expected", [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("utf-16", "utf-16"),
                                            ("utf-16-le", "utf-16-le"), ("utf-16-be", "utf-16-be")])
def test_encodings_round_trip(codec, expected):
    text = "run\tPé01\n"
    data = text.encode(codec)
    assert sniff_encoding(data) == expected
    assert decode_text(data, "x.tsv") == text


def test_latin1_only_where_accepted():
    data = "run\tPé01\n".encode("latin-1")
    assert decode_text(data, "x.mztab", latin1=True) == "run\tPé01\n"
    with pytest.raises(InputError, match="UTF-8") as exc:
        decode_text(b"a\nb\n" + data, "x.tsv")
    assert exc.value.line == 3


def test_nul_bytes_refused_and_partial_read_cut():
    with pytest.raises(InputError, match="NUL"):
        decode_text(b"\x00\x00\x00\x01binary", "x.bin")
    cut = "abcé".encode()[:-1]  # a partial read ending inside 'é'
    assert decode_text(cut, "x", partial=True) == "abc"
    with pytest.raises(InputError):
        decode_text(cut, "x")
