"""FASTA protein databases (parsed with ``pyteomics.fasta``): annotation and iBAQ peptide counts.

Not a QuantTable reader (it is not registered in ``READERS``); :func:`sniff_fasta` lets ``inspect`` say
"FASTA".

- :func:`read_fasta` → DataFrame, one row per entry, columns ``accession, entry_name, gene, description,
  organism, sequence``. UniProt headers (``sp|P02768|ALBU_HUMAN Albumin OS=Homo sapiens OX=9606 GN=ALB PE=1
  SV=2``) are split into their parts; any other header gives ``accession`` = its first token and
  ``description`` = the rest. Gzipped files are read transparently.
- :func:`count_observable_peptides` → number of distinct peptides of an *in silico* digest
  (``pyteomics.parser.cleave``, no missed cleavages) with ``min_len <= length <= max_len``: the iBAQ
  denominator.
"""

from __future__ import annotations

import io
import logging
import re

import pandas as pd

from ..errors import InputError
from ._psm import read_text
from .base import Peek

__all__ = ["read_fasta", "parse_header", "count_observable_peptides", "sniff_fasta", "FASTA_COLUMNS"]

FASTA_COLUMNS = ("accession", "entry_name", "gene", "description", "organism", "sequence")
_UNIPROT = re.compile(r"^(?P<db>sp|tr)\|(?P<acc>[^|\s]+)\|(?P<entry>\S+)(?:\s+(?P<rest>.*))?$")
_KEYS = re.compile(r"\s(OS|OX|GN|PE|SV)=")
log = logging.getLogger(__name__)
_SEQ_OK = re.compile(r"^[A-Za-z*\-.]*$")


def sniff_fasta(p: Peek) -> float:
    """1.0 when the first line that is not blank or a ``;`` comment starts with ``>`` (0.5 when only ``;``
    comment headers precede sequence lines and a ``>`` header follows)."""
    comments = False
    for line in p.lines:
        s = line.lstrip("\ufeff").strip()
        if not s:
            continue
        if s.startswith(";"):
            comments = True
            continue
        if s.startswith(">"):
            return 1.0
        if not comments or not _SEQ_OK.match(s):
            return 0.0
    return 0.5 if comments and any(ln.startswith(">") for ln in p.lines) else 0.0


def parse_header(header: str) -> dict:
    """Split one FASTA header (without ``>``) into ``accession, entry_name, gene, description, organism``.

    UniProt: ``sp|ACC|ENTRY desc OS=org OX=id GN=gene PE=n SV=n``. Anything else: first token is the
    accession, the rest is the description, other fields empty.
    """
    header = header.strip()
    m = _UNIPROT.match(header)
    if not m:
        first, _, rest = header.partition(" ")
        return {"accession": first, "entry_name": "", "gene": "", "description": rest.strip(), "organism": ""}
    rest = m.group("rest") or ""
    parts = _KEYS.split(" " + rest)
    desc = parts[0].strip()
    tags = {parts[i]: parts[i + 1].strip() for i in range(1, len(parts) - 1, 2)}
    return {"accession": m.group("acc"), "entry_name": m.group("entry"), "gene": tags.get("GN", ""),
            "description": desc, "organism": tags.get("OS", "")}


def read_fasta(path) -> pd.DataFrame:
    """Read a FASTA file (optionally gzipped) into a DataFrame with :data:`FASTA_COLUMNS` (one row per entry,
    file order; sequences upper-case without ``*``). Errors: empty file, no ``>`` entry, an entry without
    sequence, sequence lines with non-letters → ``InputError`` with the line. Duplicated accessions are kept
    (a warning is logged); ``;`` lines are old-style headers, joined into the description as pyteomics does."""
    from pyteomics import fasta


    text = read_text(path)
    _check(text, path)
    rows = []
    try:
        for desc, seq in fasta.read(io.StringIO(text), use_index=False):
            rec = parse_header(desc)
            rec["sequence"] = seq.replace("*", "").replace(" ", "").upper()
            rows.append(rec)
    except Exception as exc:  # pyteomics errors on odd content are the file's fault
        raise InputError(f"cannot parse FASTA ({type(exc).__name__}: {exc})", path=path,
                         hint="check the file is FASTA: '>header' lines followed by sequence lines") from None
    df = pd.DataFrame(rows, columns=list(FASTA_COLUMNS))
    dup = df["accession"].duplicated()
    if dup.any():
        log.warning("%s: %d duplicated accessions (first: %r); all entries kept", path, int(dup.sum()),
                    df.loc[dup, "accession"].iloc[0])
    return df


def _check(text: str, path) -> None:
    saw_entry = False
    pending = None  # line number of a header still waiting for its sequence
    for no, raw in enumerate(text.splitlines(), start=1):
        s = raw.strip()
        if not s:
            continue
        if s.startswith(";"):  # old-style header/comment line (pyteomics joins it into the description)
            if pending is None:
                pending, saw_entry = no, True
            continue
        if s.startswith(">"):
            if pending is not None and not text.splitlines()[pending - 1].lstrip().startswith(";"):
                raise InputError("entry without a sequence", path=path, line=pending,
                                 hint="every '>header' line needs sequence lines below it")
            pending, saw_entry = no, True
            continue
        if not saw_entry:
            raise InputError("sequence line before the first '>' header: not a FASTA file", path=path, line=no,
                             hint="a FASTA file starts with a '>header' line")
        if not _SEQ_OK.match(s):
            raise InputError(f"sequence line holds non-letters ({s[:20]!r})", path=path, line=no,
                             hint="sequence lines may only hold amino-acid letters")
        pending = None
    if not saw_entry:
        raise InputError("no '>' entries: not a FASTA file", path=path, line=1,
                         hint="give a protein FASTA database")
    if pending is not None:
        raise InputError("entry without a sequence (file may be truncated)", path=path, line=pending,
                         hint="every '>header' line needs sequence lines below it")


def count_observable_peptides(sequence: str, enzyme: str = "trypsin", min_len: int = 6, max_len: int = 30) -> int:
    """Number of distinct peptides with ``min_len <= length <= max_len`` from a full digest of ``sequence``
    (no missed cleavages). ``enzyme`` is a rule name of ``pyteomics.parser`` (``trypsin``, ``lys-c`` …) or a
    regular expression. Used as the iBAQ denominator."""
    from pyteomics import parser

    if not sequence:
        return 0
    named = enzyme in parser.expasy_rules or enzyme in getattr(parser, "psims_rules", {})
    try:
        if not named:
            re.compile(enzyme)
        peps = parser.cleave(str(sequence).upper(), enzyme, missed_cleavages=0, min_length=min_len,
                             max_length=max_len, regex=not named)
    except (re.error, ValueError, TypeError, KeyError) as exc:
        raise InputError(f"cannot digest with enzyme {enzyme!r} ({exc})",
                         hint="use a pyteomics.parser rule name such as 'trypsin'") from None
    return len(peps)
