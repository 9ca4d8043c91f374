"""Locked signatures: one JSON file holding everything needed to score one new sample, never pickle.

File layout (canonical JSON, sorted keys, shortest round-trip floats, 2-space indent, LF):
``schema`` ("proteomics.signature"), ``schema_version``, ``kind`` ("panel" or "stratifier"), ``name``,
``version``, ``proteins`` (ordered protein_group strings), ``specimen``, ``intended_use``, ``steps`` (every
preprocessing step's ``get_state()``), ``model`` (kind-specific payload), ``thresholds``, ``categories``,
``qc``, ``training``, ``performance``, ``package_version`` and ``sha256``; a multi-specimen panel adds
``specimens`` (the list every subject must provide; ``specimen`` is then their joined name, ``"BAL+plasma"``). The checksum is the sha256 of the
exact bytes of the file as written with the ``sha256`` value left empty (DESIGN.md), so any changed byte
fails :meth:`Signature.load`.

The container is generic and sits below both :mod:`proteomics.panel` (which fills it with :func:`proteomics.panel.lock`)
and :mod:`proteomics.stratify` (which puts its payload under ``model`` with ``kind="stratifier"``).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ._files import _clean_for_json, canonical_json, sha256_bytes, write_bytes
from ._version import __version__
from .errors import InputError, ScoringRefused, SignatureError
from .limits import MAX_SIGNATURE_BYTES, loads_json, read_limited
from .preprocess import STEPS
from .signature_checks import check_content
from .signing import verify_signed

__all__ = ["Signature", "SIGNATURE_SCHEMA", "SIGNATURE_SCHEMA_VERSION", "KINDS", "step_states", "restore_steps",
           "UNSIGNED_WARNING", "permutation_p_text"]

SIGNATURE_SCHEMA = "proteomics.signature"
SIGNATURE_SCHEMA_VERSION = 1
KINDS = ("panel", "stratifier")
#: written into every output scored with an unsigned signature (``--allow-unsigned``)
UNSIGNED_WARNING = ("UNSIGNED signature: its authenticity was not verified (scored with --allow-unsigned); do not "
                    "use for patient care")
_SHA_RE = re.compile(rb'\n  "sha256": "([0-9a-f]*)"')


def refuse_unfit(reasons: list[str], n_samples: int, *, verb: str, kind: str) -> None:
    """Raise :class:`ScoringRefused` with every reason why an input cannot be scored (an empty input is one);
    ``verb`` and ``kind`` word the fix ("score", "panel"; "assign", "stratifier")."""
    if n_samples == 0:
        reasons.append("the input holds no sample")
    if reasons:
        raise ScoringRefused(reasons, hint=f"{verb} samples of the intended specimen quantified with the {kind} "
                                           "proteins")


def _read_signature_file(path: str | os.PathLike) -> bytes:
    """A signature file's bytes (size-limited); a missing or unreadable file is a :class:`SignatureError`."""
    try:
        return read_limited(path, MAX_SIGNATURE_BYTES, what="signature")
    except SignatureError:
        raise
    except InputError as exc:
        raise SignatureError(exc.message, path=path, hint=exc.hint) from None

@dataclass(frozen=True)
class Signature:
    """A locked model (see module docstring). Build with :func:`proteomics.panel.lock` (panels) or directly
    (stratifiers)."""

    kind: str
    name: str
    proteins: tuple[str, ...]
    model: Mapping[str, Any]
    version: str = "1"
    specimen: str | None = None
    intended_use: str = "research use only"
    steps: tuple[Mapping[str, Any], ...] = ()
    thresholds: Mapping[str, Any] = field(default_factory=dict)
    categories: tuple[Mapping[str, Any], ...] = ()
    qc: Mapping[str, Any] = field(default_factory=dict)
    training: Mapping[str, Any] = field(default_factory=dict)
    performance: Mapping[str, Any] = field(default_factory=dict)
    package_version: str = __version__
    schema: str = SIGNATURE_SCHEMA
    schema_version: int = SIGNATURE_SCHEMA_VERSION
    sha256: str = ""
    specimens: tuple[str, ...] = ()
    #: Ed25519 signing block {algorithm, key_id, public_key, signature} (see proteomics.signing); {} = unsigned
    signing: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        if self.kind not in KINDS:
            raise InputError(f"unknown signature kind {self.kind!r}", hint=f"use one of {', '.join(KINDS)}")
        object.__setattr__(self, "proteins", tuple(str(p) for p in self.proteins))
        object.__setattr__(self, "steps", tuple(self.steps))
        object.__setattr__(self, "categories", tuple(self.categories))
        object.__setattr__(self, "specimens", tuple(str(x) for x in (self.specimens or ())))

    # -- serialisation ----------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (``sha256`` as stored on this object). ``specimens`` (multi-specimen panels:
        the specimens every subject must provide) is written only when set, so single-specimen files are
        unchanged."""
        extra = {"specimens": list(self.specimens)} if self.specimens else {}
        if self.signing:
            extra["signing"] = {k: str(self.signing.get(k, "")) for k in
                                ("algorithm", "key_id", "public_key", "signature")}
        return _clean_for_json({**extra,
            "schema": self.schema, "schema_version": self.schema_version, "kind": self.kind, "name": self.name,
            "version": self.version, "proteins": list(self.proteins), "specimen": self.specimen,
            "intended_use": self.intended_use, "steps": [dict(s) for s in self.steps], "model": dict(self.model),
            "thresholds": dict(self.thresholds), "categories": [dict(c) for c in self.categories],
            "qc": dict(self.qc), "training": dict(self.training), "performance": dict(self.performance),
            "package_version": self.package_version, "sha256": self.sha256})

    def to_bytes(self) -> bytes:
        """The exact file bytes, with the checksum filled in."""
        d = self.to_dict()
        d["sha256"] = ""
        blank = canonical_json(d).encode("utf-8")
        digest = sha256_bytes(blank).encode("ascii")
        out, n = _SHA_RE.subn(b'\n  "sha256": "' + digest + b'"', blank, count=1)
        assert n == 1
        return out

    def sealed(self) -> Signature:
        """This signature with its ``sha256`` set to the checksum of its file bytes."""
        d = self.to_dict()
        d["sha256"] = ""
        return replace(self, sha256=sha256_bytes(canonical_json(d).encode("utf-8")))

    def save(self, path: str | os.PathLike) -> Signature:
        """Write the file atomically; returns the sealed signature (with its sha256)."""
        data = self.to_bytes()
        write_bytes(path, data)
        return self.sealed()

    @classmethod
    def from_bytes(cls, data: bytes, *, path: str | os.PathLike | None = None) -> Signature:
        """Parse and verify file bytes (checksum, schema name and version); SignatureError otherwise."""
        if len(data) > MAX_SIGNATURE_BYTES:
            raise SignatureError(f"signature is larger than the limit of {MAX_SIGNATURE_BYTES // 2**20} MiB",
                                 path=path, hint="check that this is the right file")
        try:
            d = loads_json(data, path=path, what="signature")
        except SignatureError:
            raise
        except InputError as exc:
            raise SignatureError(exc.message, path=path,
                                 hint=exc.hint or "use the signature.json written by 'proteomics panel'") from None
        if not isinstance(d, dict) or d.get("schema") != SIGNATURE_SCHEMA:
            got = d.get("schema") if isinstance(d, dict) else type(d).__name__
            raise SignatureError(f"schema is {got!r}, expected {SIGNATURE_SCHEMA!r}", path=path,
                                 hint="this file is not a proteomics signature")
        if d.get("schema_version") != SIGNATURE_SCHEMA_VERSION:
            raise SignatureError(f"signature schema version {d.get('schema_version')!r} is not supported (this "
                                 f"package reads version {SIGNATURE_SCHEMA_VERSION})", path=path,
                                 hint="lock the panel again with this version of the package or install the "
                                      "version that wrote it")
        m = _SHA_RE.search(data)
        stored = d.get("sha256", "")
        if m is None or m.group(1).decode() != stored or not stored:
            raise SignatureError("checksum field missing or malformed", path=path,
                                 hint="the file was edited or re-serialised; use the original file")
        blank = data[: m.start()] + b'\n  "sha256": ""' + data[m.end():]
        actual = sha256_bytes(blank)
        if actual != stored:
            raise SignatureError(f"checksum mismatch (stored {stored[:12]}…, actual {actual[:12]}…): the file was "
                                 "modified after locking", path=path, hint="use the original signature file")
        for key in ("kind", "name", "proteins", "model"):
            if key not in d:
                raise SignatureError(f"required field {key!r} is missing", path=path)
        if d["kind"] not in KINDS:
            raise SignatureError(f"unknown kind {d['kind']!r}", path=path)
        check_content(d, path=path)
        try:
            _check_steps_apply(restore_steps(d["steps"]), d["proteins"], d["kind"])  # now, not while scoring
        except SignatureError as exc:
            raise SignatureError(exc.message, path=path, hint=exc.hint) from None
        fields = {k: d[k] for k in ("kind", "name", "proteins", "model", "version", "specimen", "intended_use",
                                    "steps", "thresholds", "categories", "qc", "training", "performance",
                                    "package_version", "schema", "schema_version", "sha256", "specimens", "signing")
                  if k in d}
        return cls(**fields)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Signature:
        """Read and verify a signature file (never executes code from it)."""
        data = _read_signature_file(path)
        return cls.from_bytes(data, path=path)

    @classmethod
    def load_trusted(cls, path: str | os.PathLike, *, allow_unsigned: bool = False,
                     trusted_keys: str | os.PathLike | None = None) -> Signature:
        """:meth:`load` plus authenticity: the Ed25519 signature must match and its key be trusted and not
        revoked (``trusted_keys``: a folder of trusted keys; None = the user's). ``allow_unsigned`` accepts a
        file without a signing block (never a bad or untrusted one); the caller must then mark its outputs
        with :data:`UNSIGNED_WARNING`."""
        data = _read_signature_file(path)
        sig = cls.from_bytes(data, path=path)
        if not (allow_unsigned and not sig.signing):
            verify_signed(data, trusted_keys=trusted_keys, path=path)
        return sig

    @classmethod
    def verify(cls, path: str | os.PathLike) -> dict[str, Any]:
        """Verify ``path`` and return a printable summary (raises SignatureError when it fails)."""
        return cls.load(path).summary()

    def summary(self) -> dict[str, Any]:
        """Name, version, kind, specimen, intended use, checksum, proteins and CV performance headline."""
        perf = dict(self.performance)
        out = {"name": self.name, "version": self.version, "kind": self.kind, "specimen": self.specimen,
               "intended_use": self.intended_use, "sha256": self.sha256, "n_proteins": len(self.proteins),
               "proteins": ", ".join(self.proteins), "package_version": self.package_version,
               "schema_version": self.schema_version}
        if self.specimens:
            out["specimens"] = ", ".join(self.specimens)
        out["signed_by"] = self.signing.get("key_id") if self.signing else "unsigned"
        for k in ("auc", "auc_ci_low", "auc_ci_high"):
            if perf.get(k) is not None:
                out[f"cv_{k}"] = perf[k]
        if perf.get("permutation_p") is not None:
            out["cv_permutation_p"] = permutation_p_text(perf["permutation_p"], perf.get("n_permutations"))
        if self.thresholds:
            out["thresholds"] = ", ".join(  # for people: 4 significant digits (the file keeps every digit)
                f"{k}={_g4(v.get('probability') if isinstance(v, Mapping) else v)}" for k, v in self.thresholds.items())
        return out


def _g4(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


# -- preprocessing steps as JSON ---------------------------------------------------------------------------------
def _step_classes() -> dict[str, type]:
    out = {cls.__name__: cls for cls in STEPS.values()}
    return out


def step_states(steps: Sequence[Any]) -> list[dict[str, Any]]:
    """``get_state()`` of each fitted preprocessing step; refuses steps that are not single-sample safe."""
    unsafe = [type(s).__name__ for s in steps if not _single_sample_safe(s)]
    if unsafe:
        raise InputError(f"preprocessing step(s) {', '.join(unsafe)} cannot be applied to one new sample, so they "
                         "cannot enter a locked signature",
                         hint="use within-sample normalisation (median, reference proteins) and per-protein "
                              "imputation, or ComBat only with batches seen in training")
    return [s.get_state() for s in steps]


def _single_sample_safe(step) -> bool:
    safe = getattr(step, "single_sample_safe", False)
    return bool(safe() if callable(safe) else safe)


def restore_steps(states: Sequence[Mapping[str, Any]]) -> list[Any]:
    """Fitted step objects from their JSON states (``from_state``; no refitting)."""
    classes = _step_classes()
    out = []
    for st in states:
        name = st.get("step")
        if name not in classes:
            raise SignatureError(f"signature uses preprocessing step {name!r}, unknown to this package version",
                                 hint="install the package version that wrote the signature")
        cls = classes[name]
        learned = st.get("learned")
        expected = {"proteins_in_", *cls._state_attrs}
        odd = (sorted(set(learned) ^ expected) if isinstance(learned, dict) else ["learned"]) + sorted(
            set(st.get("params") or {}) - set(cls._get_param_names()))
        if odd:
            raise SignatureError(f"preprocessing step {name} of the signature holds unknown or misses learned "
                                 f"values or settings: {', '.join(odd)}", hint="use the original signature file")
        try:
            out.append(cls.from_state(dict(st)))
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            raise SignatureError(f"preprocessing step {name} of the signature cannot be restored ({exc})",
                                 hint="use the original signature file") from None
    return out


def _check_steps_apply(steps: Sequence[Any], proteins: Sequence[str], kind: str) -> None:
    """Dry-run the restored steps on one made-up sample of the training proteins: they must run and keep the
    signature's proteins (a stratifier may lack some, they then count as missing)."""
    import numpy as np
    import pandas as pd

    if not steps:
        return
    cols = list(steps[0].proteins_in_)
    frame = pd.DataFrame([np.linspace(20.0, 30.0, len(cols))], columns=cols, index=["check"])
    try:
        for st in steps:
            frame = st.transform(frame)
    except Exception as exc:  # noqa: BLE001 - any failure here means the stored states do not fit together
        raise SignatureError(f"the signature's preprocessing steps cannot be applied ({type(exc).__name__}: "
                             f"{exc})", hint="use the original signature file") from None
    lost = [p for p in proteins if p not in frame.columns]
    if lost and kind == "panel":
        raise SignatureError(f"panel protein(s) {', '.join(lost[:5])} are not produced by the signature's "
                             "preprocessing steps", hint="use the original signature file")


def permutation_p_text(p: float | None, n: int | None, alpha: float = 0.05) -> str:
    """A label-permutation p-value as it may be shown: with N permutations the smallest p is 1/(N+1), so a
    p-value is only stated plainly when N can reach ``alpha``; otherwise with its resolution, e.g.
    ``"≤ 0.25 (3 permutations, resolution 0.25; 19 or more are needed to reach p ≤ 0.05)"``."""
    if p is None or p != p:
        return "not computed (no permutations)"
    if not n:
        return f"{p:.3g}"
    n = int(n)
    floor = 1.0 / (n + 1)
    if floor <= alpha + 1e-12:
        return f"{p:.3g} ({n} permutations)"
    need = math.ceil(1.0 / alpha - 1 - 1e-9)
    rel = "≤" if abs(p - floor) < 1e-12 else "="
    return (f"{rel} {p:.3g} ({n} permutation{'s' if n != 1 else ''}, resolution {floor:.2g}; {need} or more are "
            f"needed to reach p ≤ {alpha:g})")
