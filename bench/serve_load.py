"""Load and latency of the clinician's web service (``proteomics serve``), against the CLI.

    python bench/serve_load.py [--clients 20] [--per-client 5] [--workers 2] [--out bench/out/serve.json]

Builds the sample_data panel (small CV) once, signs it with a throwaway key, starts the real server (uvicorn,
127.0.0.1, SQLite in a temporary folder), and measures:

- ``cli_process_s``: wall time of ``proteomics score`` for one patient file in a fresh process (median of 5;
  includes Python start-up and imports, which is what a clinician at a terminal waits for);
- ``cli_inprocess_s``: the same scoring through ``proteomics.commands.score_command`` in a warm process;
- ``web_single_s``: one scoring through the web app (POST /score, redirect, result page), one client, warm
  workers (median of 5);
- under ``--clients`` concurrent clients each logging in and scoring ``--per-client`` patients: p50/p95/max of
  the per-scoring latency, wall time and throughput; every result is compared with the CLI's TSV.

:func:`run_load` is also used by ``tests/serve/test_load.py`` (which asserts correctness, never timing).
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]


def _csrf(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    if not m:
        raise RuntimeError("no CSRF token on the page")
    return m.group(1)


def login(c: httpx.Client, name: str, password: str) -> str:
    """Log in through the form; returns the session's CSRF token."""
    page = c.get("/login")
    r = c.post("/login", data={"name": name, "password": password, "csrf": _csrf(page.text)})
    if r.status_code != 303:
        raise RuntimeError(f"login of {name} answered {r.status_code}")
    return _csrf(c.get("/", follow_redirects=True).text)


def score_once(c: httpx.Client, csrf: str, sig_id: int, path: Path, patient: str) -> dict:
    """POST /score, follow to the result page, download the TSV. Returns timings and the TSV text."""
    t0 = time.perf_counter()
    r = c.post("/score", data={"csrf": csrf, "patient_id": patient, "specimen": "plasma", "collected": "2026-11-02",
                               "received": "2026-11-03", "signature": str(sig_id)},
               files={"file": (path.name, path.read_bytes(), "text/plain")})
    if r.status_code != 303:
        raise RuntimeError(f"score answered {r.status_code}")
    page = c.get(r.headers["location"])
    t1 = time.perf_counter()
    if page.status_code != 200:
        raise RuntimeError(f"result page answered {page.status_code}")
    tsv = c.get(r.headers["location"] + "/scores.tsv").text
    return {"latency_s": t1 - t0, "tsv": tsv, "file": path.name, "result": r.headers["location"]}


def import_and_approve(url: str, name: str, password: str, signature: bytes) -> int:
    with httpx.Client(base_url=url, follow_redirects=False, timeout=120) as c:
        csrf = login(c, name, password)
        r = c.post("/signatures/import", data={"csrf": csrf},
                   files={"file": ("signature.json", signature, "application/json")})
        if r.status_code != 303:
            raise RuntimeError(f"import answered {r.status_code}")
        sid = int(r.headers["location"].rsplit("/", 1)[1])
        r = c.post(f"/signatures/{sid}/approve", data={"csrf": csrf, "justification": "benchmark approval"})
        if r.status_code != 303:
            raise RuntimeError(f"approve answered {r.status_code}")
        return sid


def run_load(url: str, users: list[str], password: str, sig_id: int, files: list[Path], per_client: int,
             timeout: float = 600.0) -> dict:
    """Every user in its own thread: log in, score ``per_client`` files (cycling through ``files``)."""
    def one(i_user):
        i, user = i_user
        out = []
        with httpx.Client(base_url=url, follow_redirects=False, timeout=timeout) as c:
            csrf = login(c, user, password)
            for k in range(per_client):
                path = files[(i + k) % len(files)]
                out.append(score_once(c, csrf, sig_id, path, f"LOAD-{i:02d}-{k}"))
        return out

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=len(users)) as ex:
        results = [r for rs in ex.map(one, enumerate(users)) for r in rs]
    wall = time.perf_counter() - t0
    lat = sorted(r["latency_s"] for r in results)
    return {"results": results, "wall_s": wall, "n": len(results),
            "p50_s": statistics.median(lat), "p95_s": lat[max(0, int(round(0.95 * len(lat))) - 1)],
            "max_s": lat[-1], "throughput_per_s": len(results) / wall}


def main(argv=None) -> int:  # pragma: no cover - run by hand
    import os
    import subprocess
    import tempfile

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--per-client", type=int, default=5)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "serve.json")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(REPO))
    from tests.serve.conftest import PASSWORD, _split_runs, prepare_site, start_server, stop_server

    tmp = Path(tempfile.mkdtemp(prefix="serve-bench-"))
    os.environ["PROTEOMICS_CONFIG_DIR"] = str(tmp / "config")
    from dataclasses import replace

    from proteomics import signing
    from proteomics.commands import score_command
    from proteomics.signature import Signature

    cfg = tmp / "panel.yaml"
    cfg.write_text("panel:\n  outer_folds: 3\n  outer_repeats: 1\n  inner_folds: 2\n  max_proteins: 4\n")
    sd = REPO / "sample_data"
    subprocess.run([sys.executable, "-m", "proteomics.cli", "--quiet", "panel", str(sd / "plasma" / "report.tsv.gz"),
                    "--sheet", str(sd / "sheet.csv"), "--specimen", "plasma", "--label", "condition", "--positive",
                    "cancer", "--config", str(cfg), "--permutations", "2", "-o", str(tmp / "panel")], check=True,
                   cwd=REPO)
    key = signing.generate_key()
    signed = signing.sign_signature(replace(Signature.load(tmp / "panel" / "signature.json"), signing={}), key=key)
    (tmp / "signed.json").write_bytes(signed.to_bytes())
    files = list(_split_runs(sd / "new_patients" / "report.tsv.gz", tmp).values())
    sigs = {"pem": key.public_pem().encode()}
    users = [f"clin{i:02d}" for i in range(args.clients)]
    prepare_site(tmp / "site", sigs, people=[("rev", "reviewer")] + [(u, "clinician") for u in users])

    cli = []
    for _ in range(5):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "proteomics.cli", "--quiet", "score", str(files[0]), "--signature",
                        str(tmp / "signed.json"), "--specimen", "plasma", "-o", str(tmp / "cli.tsv")], check=True,
                       cwd=REPO)
        cli.append(time.perf_counter() - t0)
    inproc = []
    for _ in range(5):
        t0 = time.perf_counter()
        score_command(files[0], tmp / "signed.json", tmp / "cli2.tsv", specimen="plasma")
        inproc.append(time.perf_counter() - t0)
    expected = {}
    for f in files:
        score_command(f, tmp / "signed.json", tmp / "exp.tsv", specimen="plasma")
        expected[f.name] = (tmp / "exp.tsv").read_text()

    server = start_server(tmp / "site", workers=args.workers)
    try:
        sid = import_and_approve(server.url, "rev", PASSWORD, signed.to_bytes())
        with httpx.Client(base_url=server.url, follow_redirects=False, timeout=600) as c:
            csrf = login(c, users[0], PASSWORD)
            score_once(c, csrf, sid, files[0], "WARM-0")  # warm the worker processes
            score_once(c, csrf, sid, files[1], "WARM-1")
            single = [score_once(c, csrf, sid, files[0], f"SINGLE-{k}")["latency_s"] for k in range(5)]
        load = run_load(server.url, users, PASSWORD, sid, files, args.per_client)
    finally:
        stop_server(server)
    wrong = sum(r["tsv"] != expected[r["file"]] for r in load["results"])
    out = {"clients": args.clients, "per_client": args.per_client, "workers": args.workers,
           "cli_process_s": statistics.median(cli), "cli_inprocess_s": statistics.median(inproc),
           "web_single_s": statistics.median(single), "load_p50_s": load["p50_s"], "load_p95_s": load["p95_s"],
           "load_max_s": load["max_s"], "load_wall_s": load["wall_s"], "load_n": load["n"],
           "load_throughput_per_s": load["throughput_per_s"], "wrong_results": wrong,
           "loadavg_1min": os.getloadavg()[0], "cpus": os.cpu_count()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps(out, indent=1))
    return 0 if wrong == 0 else 1


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
