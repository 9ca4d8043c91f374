"""Design matrices and contrasts from a sample table.

The model is ``~0 + group [+ covariates]``: one column per level of the ``group`` column (every level in
the sheet stays in the fit, named by the level itself), then the covariates:

* numeric covariate: one column, values as given (not centred), named by the covariate;
* categorical covariate (text, bool or pandas categorical; batch, sex, subject for a paired design):
  treatment coding, one column per non-reference level named ``<covariate><level>`` as R does. The
  reference is the first level in **sorted order** (R's ``factor()`` default), or the first category of a
  pandas ``Categorical`` with explicit categories. The reference only changes the covariate's own
  coefficients, never a contrast between group levels, except through limma's ``contrasts.fit``
  approximation when values are missing (ALGORITHMS.md §1.1), which is why it follows R.

Contrasts are strings such as ``"cancer-control"``, ``"(A+B)/2-C"`` or ``"B - A"`` parsed by a small
recursive-descent parser (no ``eval``) over design column names, numbers, ``+ - * /`` and parentheses.
A name holding other characters can be written in backquotes: ```COVID-19` - control``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import InputError

__all__ = ["Design", "make_design", "parse_contrast", "contrast_matrix"]


@dataclass(frozen=True)
class Design:
    """A design matrix (samples × coefficients, float) with named columns.

    ``levels`` are the group levels (the first ``len(levels)`` columns), ``group`` the column they came from.
    """

    matrix: np.ndarray
    columns: tuple[str, ...]
    samples: tuple[str, ...]
    levels: tuple[str, ...]
    group: str

    def frame(self) -> pd.DataFrame:
        """The design as a DataFrame (index: sample ids, columns: coefficient names)."""
        return pd.DataFrame(self.matrix, index=list(self.samples), columns=list(self.columns))


def _levels(values: pd.Series) -> list[str]:
    if isinstance(values.dtype, pd.CategoricalDtype):
        present = set(values.dropna().astype(str))
        return [str(c) for c in values.cat.categories if str(c) in present]
    return sorted(set(values.dropna().astype(str)))


def _is_numeric(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)


def make_design(samples: pd.DataFrame, group: str = "condition", covariates: Sequence[str] = ()) -> Design:
    """Design ``~0 + group + covariates`` from a sample table (rows = samples, in Dataset order).

    Raises :class:`InputError` for a missing column, missing values, a group with one level, or a
    rank-deficient design (naming the confounded columns).
    """
    if isinstance(covariates, str):
        covariates = (covariates,)
    for col in (group, *covariates):
        if col not in samples.columns:
            raise InputError(f"sample table has no column {col!r}", column=col,
                             hint=f"use one of: {', '.join(map(str, samples.columns))}")
        miss = samples.index[samples[col].isna()].astype(str).tolist()
        if miss:
            raise InputError(f"column {col!r} is empty for samples {', '.join(miss[:10])}", column=col,
                             hint="fill it in or drop those samples")
    if len(set(covariates)) != len(covariates) or group in covariates:
        raise InputError("a column is used twice in the design", hint="list each covariate once")
    g = samples[group]
    levels = _levels(g)
    if len(levels) < 2:
        raise InputError(f"group column {group!r} has fewer than two levels ({', '.join(levels)})",
                         column=group, hint="compare at least two groups")
    gs = g.astype(str).to_numpy()
    cols: list[np.ndarray] = [(gs == lev).astype(float) for lev in levels]
    names: list[str] = list(levels)
    for cov in covariates:
        s = samples[cov]
        if _is_numeric(s):
            cols.append(s.to_numpy(dtype=float))
            names.append(str(cov))
        else:
            lev = _levels(s)
            ss = s.astype(str).to_numpy()
            for lv in lev[1:]:
                cols.append((ss == lv).astype(float))
                names.append(f"{cov}{lv}")
    X = np.column_stack(cols)
    _check_estimable(X, names)
    return Design(X, tuple(names), tuple(samples.index.astype(str)), tuple(levels), group)


def estimable_columns(X: np.ndarray, tol: float = 1e-7) -> np.ndarray:
    """Boolean mask of columns kept by a left-to-right pivoted QR (R's ``lm.fit``/LINPACK dqrdc2 rule):
    a column whose residual on the kept columns is below ``tol`` × its norm is dropped."""
    n, p = X.shape
    norms = np.linalg.norm(X, axis=0)
    if p <= n and np.all(norms > 0):
        R = np.linalg.qr(X, mode="r")
        if np.all(np.abs(np.diag(R)) > 10 * tol * norms):   # clearly full rank: same answer as the loop
            return np.ones(p, dtype=bool)
    keep = np.zeros(p, dtype=bool)
    Q = np.zeros((n, 0))
    for j in range(p):
        v = X[:, j]
        nv = np.linalg.norm(v)
        if nv == 0:
            continue
        r = v - Q @ (Q.T @ v)
        r = r - Q @ (Q.T @ r)
        nr = np.linalg.norm(r)
        if nr > tol * nv:
            keep[j] = True
            Q = np.column_stack([Q, r / nr])
    return keep


def _check_estimable(X: np.ndarray, names: list[str]) -> None:
    keep = estimable_columns(X)
    if keep.all():
        return
    j = int(np.flatnonzero(~keep)[0])
    kept = np.flatnonzero(keep[:j])
    coef = np.linalg.lstsq(X[:, kept], X[:, j], rcond=None)[0] if kept.size else np.array([])
    partners = [names[k] for k, c in zip(kept, coef, strict=True) if abs(c) > 1e-8]
    what = f"column {names[j]!r} is " + ("all zero" if not partners else
                                         f"confounded with {', '.join(repr(p) for p in partners)}")
    raise InputError(f"the design is not estimable: {what}",
                     hint="drop that covariate, or check that every batch/covariate level is not nested in "
                          "one group")


# -- contrasts -----------------------------------------------------------------------------------------
_TOKEN = re.compile(r"\s*(?:(`[^`]*`)|(\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+)|([+\-*/()])|([A-Za-z_.][\w.]*))")


class _Parser:
    """expr := term (('+'|'-') term)* ; term := unary (('*'|'/') unary)* ;
    unary := ('+'|'-') unary | NUMBER | NAME | '(' expr ')'.  Values are (vector, constant) pairs."""

    def __init__(self, text: str, names: Sequence[str]):
        self.text = text
        self.names = list(names)
        self.index = {n: i for i, n in enumerate(self.names)}
        self.tokens = self._tokenize(text)
        self.pos = 0

    def _tokenize(self, text: str) -> list[tuple[str, object]]:
        out: list[tuple[str, object]] = []
        i = 0
        by_len = sorted(self.names, key=len, reverse=True)
        while i < len(text):
            if text[i].isspace():
                i += 1
                continue
            # a known name (longest first), bounded by a non-name character
            hit = next((n for n in by_len if text.startswith(n, i)
                        and (i + len(n) == len(text) or not re.match(r"[\w.]", text[i + len(n)]))), None)
            if hit is not None:
                out.append(("name", hit))
                i += len(hit)
                continue
            m = _TOKEN.match(text, i)
            if not m or m.end() == i:
                raise self._error(f"unexpected character {text[i]!r} at position {i + 1}")
            if m.group(1):
                out.append(("name", m.group(1)[1:-1]))
            elif m.group(2):
                out.append(("num", float(m.group(2))))
            elif m.group(3):
                out.append(("op", m.group(3)))
            else:
                out.append(("name", m.group(4)))
            i = m.end()
        return out

    def _error(self, msg: str) -> InputError:
        return InputError(f"contrast {self.text!r}: {msg}",
                          hint=f"write it with the levels {', '.join(self.names)}, e.g. "
                               f"\"{self.names[1] if len(self.names) > 1 else 'B'}-{self.names[0]}\"")

    def peek(self):
        return self.tokens[self.pos] if self.pos < len(self.tokens) else (None, None)

    def take(self):
        tok = self.peek()
        self.pos += 1
        return tok

    def parse(self) -> np.ndarray:
        if not self.tokens:
            raise self._error("it is empty")
        vec, const = self.expr()
        if self.pos != len(self.tokens):
            raise self._error(f"unexpected {self.peek()[1]!r}")
        if abs(const) > 0:
            raise self._error("it holds a constant term")
        if not np.any(vec != 0):
            raise self._error("it compares nothing (all coefficients cancel)")
        return vec

    def expr(self):
        vec, const = self.term()
        while self.peek() in (("op", "+"), ("op", "-")):
            sign = 1.0 if self.take()[1] == "+" else -1.0
            v2, c2 = self.term()
            vec, const = vec + sign * v2, const + sign * c2
        return vec, const

    def term(self):
        vec, const = self.unary()
        while self.peek() in (("op", "*"), ("op", "/")):
            op = self.take()[1]
            v2, c2 = self.unary()
            if op == "*":
                if not np.any(vec != 0):
                    vec, const = v2 * const, c2 * const
                elif not np.any(v2 != 0):
                    vec, const = vec * c2, const * c2
                else:
                    raise self._error("it multiplies two levels together")
            else:
                if np.any(v2 != 0):
                    raise self._error("it divides by a level")
                if c2 == 0:
                    raise self._error("it divides by zero")
                vec, const = vec / c2, const / c2
        return vec, const

    def unary(self):
        kind, val = self.take()
        zero = np.zeros(len(self.names))
        if kind == "op" and val in "+-":
            v, c = self.unary()
            return (v, c) if val == "+" else (-v, -c)
        if kind == "num":
            return zero, float(val)
        if kind == "name":
            if val not in self.index:
                raise InputError(f"contrast {self.text!r} names {val!r}, which is not a group level or design "
                                 f"column", hint=f"available: {', '.join(self.names)}")
            v = zero.copy()
            v[self.index[val]] = 1.0
            return v, 0.0
        if (kind, val) == ("op", "("):
            out = self.expr()
            if self.take() != ("op", ")"):
                raise self._error("a parenthesis is not closed")
            return out
        raise self._error("it ends early" if kind is None else f"unexpected {val!r}")


def parse_contrast(expr: str, names: Sequence[str]) -> np.ndarray:
    """Weights over ``names`` (design columns) for a contrast string like ``"(A+B)/2-C"``."""
    return _Parser(str(expr), names).parse()


def contrast_matrix(contrasts: str | Sequence[str], design: Design) -> np.ndarray:
    """Contrast matrix (n_coefficients × n_contrasts) for one or several contrast strings."""
    if isinstance(contrasts, str):
        contrasts = [contrasts]
    if not contrasts:
        raise InputError("no contrast given", hint=f"e.g. --contrast \"{design.levels[1]}-{design.levels[0]}\"")
    return np.column_stack([parse_contrast(c, design.columns) for c in contrasts])
