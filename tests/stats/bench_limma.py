"""Benchmark (not collected by pytest): moderated t on 10,000 proteins × 1,000 samples, 5 % missing, batch.

    python -m tests.stats.bench_limma [n_samples] [n_proteins] [--write-r DIR]     (from the repository root)

Prints wall time and peak traced memory of ``moderated_t`` (design, lmFit, contrasts.fit, eBayes, BH,
result table). With ``--write-r DIR`` it also writes the matrix as raw float64 (proteins × samples,
column-major for R's readBin) and an R script that times lmFit + contrasts.fit + eBayes inside R.
"""

from __future__ import annotations

import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd

from proteomics.dataset import Dataset
from proteomics.stats.limma import moderated_t

R_SCRIPT = """suppressPackageStartupMessages(library(limma))
n <- {n}; G <- {G}
x <- matrix(readBin("{bin}", "double", n * G), nrow = G, ncol = n)
group <- factor(rep(c("A", "B"), length.out = n)); batch <- factor(paste0("b", (0:(n - 1)) %% 3))
design <- model.matrix(~0 + group + batch); colnames(design)[1:2] <- c("A", "B")
cm <- makeContrasts(B - A, levels = design)
gc(reset = TRUE)
t0 <- proc.time()[["elapsed"]]
eb <- eBayes(contrasts.fit(lmFit(x, design), cm))
t1 <- proc.time()[["elapsed"]]
cat("R limma", as.character(packageVersion("limma")), "lmFit+contrasts.fit+eBayes seconds:", t1 - t0, "\\n")
print(gc())
"""


def main(argv):
    n = int(argv[1]) if len(argv) > 1 else 1000
    G = int(argv[2]) if len(argv) > 2 else 10000
    rng = np.random.default_rng(20261123)
    Y = rng.normal(22, 1.5, (n, G)) + rng.normal(0, 0.3, (n, 1))
    Y[rng.random((n, G)) < 0.05] = np.nan
    s = pd.DataFrame({"condition": np.where(np.arange(n) % 2, "B", "A"), "batch": [f"b{i % 3}" for i in range(n)]},
                     index=[f"s{i}" for i in range(n)])
    ds = Dataset(Y, s, pd.DataFrame(index=[f"p{j}" for j in range(G)]))
    tracemalloc.start()
    t0 = time.perf_counter()
    res = moderated_t(ds, "B-A", covariates=("batch",))
    wall = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(f"proteomics moderated_t: {n} samples x {G} proteins, 5% missing: {wall:.2f} s, "
          f"peak traced memory {peak / 2**20:.0f} MiB (input matrix {Y.nbytes / 2**20:.0f} MiB); "
          f"{int((res.table.q_value < 0.05).sum())} proteins q<0.05")
    if "--write-r" in argv:
        out = Path(argv[argv.index("--write-r") + 1])
        out.mkdir(parents=True, exist_ok=True)
        np.asfortranarray(Y.T).ravel(order="F").tofile(out / "matrix.bin")
        (out / "bench.R").write_text(R_SCRIPT.format(n=n, G=G, bin=out / "matrix.bin"))
        print(f"wrote {out}/matrix.bin and {out}/bench.R: run Rscript {out}/bench.R")


if __name__ == "__main__":
    main(sys.argv)
