"""Regenerate the bundled simulated cohort: ``python sample_data/simulate.py [OUT_DIR]``.

Thin, seeded wrapper around :func:`proteomics.simulate.write_bundle`; the model is documented there
and in ``sample_data/README.md``. Rerunning it rewrites byte-identical files (reports are gzip files
written with mtime 0; the uncompressed content is what the tests compare).
"""

from __future__ import annotations

import sys
from pathlib import Path

from proteomics.simulate import write_bundle

SEED = 20261123


def main(argv: list[str] | None = None) -> dict[str, str]:
    argv = sys.argv[1:] if argv is None else argv
    out = Path(argv[0]) if argv else Path(__file__).resolve().parent
    return write_bundle(out, seed=SEED)


if __name__ == "__main__":
    for name, digest in sorted(main().items()):
        print(f"{digest}  {name}")
