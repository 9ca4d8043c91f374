"""Signature content validation, whatever the checksum says: every insane field is refused with its name, a
non-finite score never gets a category, and random mutations either are refused or leave scores unchanged."""

from __future__ import annotations

import copy
import hashlib
import json
import math
import os
import re
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from proteomics.errors import InputError, ScoringRefused, SignatureError
from proteomics.limits import MAX_SIGNATURE_BYTES
from proteomics.panel import Signature, build_panel, score
from tests.panel.conftest import FAST, simulate


@pytest.fixture(scope="module")
def built():
    ds = simulate(n_per_class=12, n_proteins=40, seed=5, missing=0.02)
    res = build_panel(ds, "condition", "case", settings={**FAST, "max_proteins": 3, "fixed_size": True,
                                                                  "selector": "moderated_t"}, seed=0)
    return ds, res.signature


def resealed(d: dict, *, raw_replace: tuple[bytes, bytes] | None = None) -> bytes:
    """Serialise like the package (sorted keys, 2-space indent) and recompute the checksum by the public rule,
    as a forger would. ``raw_replace`` edits the text before sealing (to write NaN, 1e400 …)."""
    d = dict(d, sha256="")
    text = json.dumps(d, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=True).encode() + b"\n"
    if raw_replace:
        assert raw_replace[0] in text
        text = text.replace(raw_replace[0], raw_replace[1], 1)
    digest = hashlib.sha256(text).hexdigest().encode()
    return text.replace(b'\n  "sha256": ""', b'\n  "sha256": "' + digest + b'"', 1)


def _coef_text(d) -> bytes:
    return json.dumps(d["model"]["coef"][0][0]).encode()


MUTATIONS = {
    "coef_nan": (lambda d: None, lambda d: (_coef_text(d), b"NaN"), "NaN"),
    "coef_inf": (lambda d: None, lambda d: (_coef_text(d), b"Infinity"), "Infinity"),
    "coef_1e400": (lambda d: None, lambda d: (_coef_text(d), b"1e400"), "non-finite"),
    "coef_null": (lambda d: d["model"]["coef"][0].__setitem__(0, None), None, "model.coef"),
    "coef_absurd": (lambda d: d["model"]["coef"][0].__setitem__(0, 3e6), None, "absurd"),
    "intercept_string": (lambda d: d["model"]["intercept"].__setitem__(0, "0.5"), None, "model.intercept"),
    "coef_too_long": (lambda d: d["model"]["coef"][0].append(0.1), None, "proteins"),
    "coef_too_short": (lambda d: d["model"]["coef"][0].pop(), None, "proteins"),
    "fill_length": (lambda d: d["model"]["fill"]["values"].pop(), None, "model.fill.values"),
    "scaler_zero": (lambda d: d["model"]["scale"]["scale"].__setitem__(0, 0.0), None, "model.scale.scale"),
    "scaler_mean_absurd": (lambda d: d["model"]["scale"]["mean"].__setitem__(0, -1e9), None, "absurd"),
    "model_missing": (lambda d: d.pop("model"), None, "model"),
    "model_is_list": (lambda d: d.__setitem__("model", [1, 2]), None, "model"),
    "model_type_unknown": (lambda d: d["model"].__setitem__("type", "xgboost"), None, "model.type"),
    "model_type_int": (lambda d: d["model"].__setitem__("type", 3), None, "model.type"),
    "steps_missing": (lambda d: d.pop("steps"), None, "steps"),
    "steps_is_dict": (lambda d: d.__setitem__("steps", {"step": "MedianNormalizer"}), None, "steps"),
    "step_bad_attr": (lambda d: d["steps"][-1]["learned"].__setitem__("transform", [1]), None, "unknown"),
    "step_value_inf": (lambda d: None, lambda d: (b'"center_": ', b'"center_": 1e999, "x": '), "non-finite"),
    "proteins_string": (lambda d: d.__setitem__("proteins", "P000"), None, "proteins"),
    "proteins_duplicate": (lambda d: d["proteins"].__setitem__(1, d["proteins"][0]), None, "twice"),
    "proteins_empty": (lambda d: d.__setitem__("proteins", []), None, "proteins"),
    "threshold_above_one": (lambda d: d["thresholds"]["rule_in"].__setitem__("probability", 1.5), None,
                            "thresholds.rule_in.probability"),
    "threshold_null": (lambda d: d["thresholds"]["rule_out"].__setitem__("probability", None), None,
                       "thresholds.rule_out.probability"),
    "qc_bounds_length": (lambda d: d["qc"]["training_min"].append(1.0), None, "qc.training_min"),
    "qc_margin_negative": (lambda d: d["qc"].__setitem__("range_margin", -1), None, "qc.range_margin"),
    "binary_lies": (lambda d: d["model"].__setitem__("binary", False), None, "model.binary"),
    "positive_unknown": (lambda d: d["model"].__setitem__("positive", "nobody"), None, "model.positive"),
    "interval_rows": (lambda d: d["model"]["interval"]["intercept"].pop(), None, "model.interval.intercept"),
    "deep_nesting": (lambda d: d["training"].__setitem__("x", None),
                     lambda d: (b'"x": null', b'"x": ' + b"[" * 50_000 + b"]" * 50_000), "nested"),
    "duplicate_key": (lambda d: None, lambda d: (b'\n  "kind": "panel",', b'\n  "kind": "panel",\n  "kind": "panel",'),
                      "twice"),
}


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_insane_content_refused_despite_valid_checksum(built, name):
    _, sig = built
    d = json.loads(sig.to_bytes())
    edit, raw, needle = MUTATIONS[name]
    edit(d)
    data = resealed(d, raw_replace=raw(d) if raw else None)
    with pytest.raises(SignatureError) as exc:
        Signature.from_bytes(data, path="sig.json")
    assert needle.lower() in str(exc.value).lower(), str(exc.value)
    assert "\n" not in str(exc.value)


def test_valid_signature_still_loads(built):
    _, sig = built
    assert Signature.from_bytes(resealed(json.loads(sig.to_bytes()))).to_bytes() == sig.to_bytes()


def test_random_forest_tree_loop_refused():
    ds = simulate(n_per_class=10, n_proteins=20, seed=2)
    sig = build_panel(ds, "condition", "case", settings={**FAST, "model": "random_forest"}, seed=0).signature
    d = json.loads(sig.to_bytes())
    tree = d["model"]["trees"][0]
    internal = next(i for i, a in enumerate(tree["left"]) if a != -1)
    tree["left"][internal] = internal  # a self-loop would spin the tree walk forever
    with pytest.raises(SignatureError, match="backwards"):
        Signature.from_bytes(resealed(d))


def test_file_size_and_non_regular_files(tmp_path):
    with pytest.raises(SignatureError, match="larger"):
        Signature.from_bytes(b" " * (MAX_SIGNATURE_BYTES + 1))
    big = tmp_path / "big.json"
    with open(big, "wb") as fh:
        fh.truncate(MAX_SIGNATURE_BYTES + 10)
    with pytest.raises(SignatureError, match="larger"):
        Signature.load(big)
    with pytest.raises(SignatureError, match="character device"):
        Signature.load("/dev/zero")
    fifo = tmp_path / "sig.fifo"
    os.mkfifo(fifo)
    with pytest.raises(SignatureError, match="FIFO"):
        Signature.load(fifo)  # returns at once: never opened for reading


def test_non_finite_score_never_gets_a_category(built):
    """Bypassing the loader (in-memory object), a NaN coefficient gives 'refused', never 'high'."""
    ds, sig = built
    model = copy.deepcopy(dict(sig.model))
    model["coef"] = [[math.nan] * len(sig.proteins)]
    table = score(replace(sig, model=model), ds).table
    assert (table["category"] == "refused").all()
    assert table["reasons"].str.contains("non-finite").all()


# -- hypothesis: random mutations, recomputed checksum --------------------------------------------------------------
NON_MODEL = ("name", "version", "intended_use", "training", "performance", "package_version")
BAD_VALUES = [None, "x", "", 0, -1, 1e300, -1e7, 0.5, True, [], {}, [1.0, 2.0], {"a": 1}, "NaN"]


def _paths(obj, prefix=()):
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj[:4]):
            yield from _paths(v, (*prefix, i))


def _set(d, path, value, delete=False):
    cur = d
    for p in path[:-1]:
        cur = cur[p]
    if delete:
        cur.pop(path[-1]) if isinstance(cur, dict) else cur.pop(path[-1])
    else:
        cur[path[-1]] = value


@pytest.fixture(scope="module")
def baseline(built):
    ds, sig = built
    d = json.loads(sig.to_bytes())
    paths = [p for p in _paths(d) if p and p[0] not in ("sha256", "schema", "schema_version")]
    table = score(sig, ds).table
    return ds, d, paths, table


@settings(max_examples=int(os.environ.get("PROTEOMICS_FUZZ_EXAMPLES", "150")), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_signatures_are_refused_or_score_sanely(baseline, data):
    ds, d0, paths, base = baseline
    path = data.draw(st.sampled_from(paths))
    d = copy.deepcopy(d0)
    if data.draw(st.booleans()) and len(path) > 0:
        _set(d, path, None, delete=True)
    else:
        _set(d, path, data.draw(st.sampled_from(BAD_VALUES)))
    blob = resealed(d)
    try:
        sig = Signature.from_bytes(blob)
        table = score(sig, ds).table
    except (SignatureError, ScoringRefused, InputError) as exc:
        assert "\n" not in str(exc) and str(exc)
        return
    ok = table["category"] != "refused"
    assert np.isfinite(table.loc[ok, "probability"].to_numpy(float)).all()
    assert np.isfinite(table.loc[ok, "score"].to_numpy(float)).all()
    if path[0] in NON_MODEL:
        cols = ["sample", "score", "probability", "prob_low", "prob_high", "category", "reasons"]
        assert table[cols].equals(base[cols])


def test_resealing_rule_matches_the_package(built):
    _, sig = built
    assert re.search(rb'"sha256": "[0-9a-f]{64}"', resealed(json.loads(sig.to_bytes())))
