"""directLFQ as a benchmark peer, run ONLY in its own virtual environment (never imported by the product).

    /work/dlfq-venv/bin/python bench/directlfq_peer.py LONG.parquet OUT.parquet [--cores 1]

LONG.parquet: columns protein, ion, run, intensity (linear). The long → wide pivot, directLFQ 0.3.3's sample
normalisation and protein estimation are timed (after a warm-up call on 200 proteins that compiles its numba
kernels, reported separately). OUT.parquet: proteins × runs of log2 intensities (NaN = not quantified).
Prints one line ``PEER-RESULT {json}`` with wall_s, cpu_s, peak_rss (bytes, this process) and warmup_s.
"""

from __future__ import annotations

import json
import resource
import sys
import time

import numpy as np
import pandas as pd


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def directlfq(long: pd.DataFrame, cores: int) -> pd.DataFrame:
    import directlfq.config as dcfg
    import directlfq.normalization as dnorm
    import directlfq.protein_intensity_estimation as dest
    import directlfq.utils as dutils

    dcfg.set_global_protein_and_ion_id(protein_id="protein", quant_id="ion")
    dcfg.set_log_processed_proteins(log_processed_proteins=False)
    dcfg.set_compile_normalized_ion_table(compile_normalized_ion_table=False)
    dcfg.check_wether_to_copy_numpy_arrays_derived_from_pandas()
    wide = long.pivot_table(index=["protein", "ion"], columns="run", values="intensity", aggfunc="sum",
                            observed=True)
    wide = wide.reset_index().fillna(0.0)
    wide["protein"] = wide["protein"].astype(str)
    wide["ion"] = wide["ion"].astype(str)
    wide.columns.name = None
    wide.columns = [str(c) for c in wide.columns]
    wide = dutils.sort_input_df_by_protein_and_quant_id(wide)
    wide = dutils.remove_potential_quant_id_duplicates(wide)
    wide = dutils.index_and_log_transform_input_df(wide)
    wide = dutils.remove_allnan_rows_input_df(wide)
    normed = dnorm.NormalizationManagerSamplesOnSelectedProteins(wide, num_samples_quadratic=50).complete_dataframe
    prot, _ = dest.estimate_protein_intensities(normed, min_nonan=1, num_samples_quadratic=10, num_cores=cores)
    prot = prot.set_index("protein")
    return np.log2(prot.replace(0, np.nan))


def main(argv: list[str]) -> int:
    src, dst = argv[0], argv[1]
    cores = int(argv[argv.index("--cores") + 1]) if "--cores" in argv else 1
    long = pd.read_parquet(src)
    for c in ("protein", "ion", "run"):
        long[c] = long[c].astype("category")
    t0 = time.perf_counter()
    few = long["protein"].isin(long["protein"].cat.categories[:200])
    directlfq(long.loc[few].assign(**{c: lambda d, c=c: d[c].cat.remove_unused_categories()
                                      for c in ("protein", "ion", "run")}), cores)
    warm = time.perf_counter() - t0
    t0, c0 = time.perf_counter(), _cpu()
    prot = directlfq(long, cores)
    wall, cpu = time.perf_counter() - t0, _cpu() - c0
    prot.columns = [str(c) for c in prot.columns]
    prot.index = prot.index.astype(str)
    prot.to_parquet(dst)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print("PEER-RESULT " + json.dumps({"wall_s": wall, "cpu_s": cpu, "peak_rss": peak, "warmup_s": warm,
                                       "version": __import__("directlfq").__version__}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
