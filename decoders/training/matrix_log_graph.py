"""The logarithm of symmetric positive-definite matrices as an ONNX graph of matrix products.

ONNX has no eigen-decomposition, so :func:`logm_graph` builds ``logm(S)`` for a batch of SPD
matrices ``S`` (batch, n, n) from MatMul, Add and elementwise scalar ops only, by inverse
scaling and squaring:

1. Scale: ``T = S / (trace(S) / n)``, then ``A = T / c`` with ``c = ||T^8||_F^(1/8)`` (three
   squarings), an upper bound of ``T``'s largest eigenvalue within a factor ``n^(1/16)``. So the
   spectrum of ``A`` lies in (0, 1] and ``logm(S) = log(trace(S) / n * c) I + logm(A)``.
2. Square roots: ``levels`` times, the coupled Newton-Schulz iteration
   ``M = (3 I - Z Y) / 2, Y <- Y M, Z <- M Z`` from ``Y = A, Z = I`` converges to
   ``Y = A^1/2, Z = A^-1/2`` (quadratically near the end; an eigenvalue ``e`` of ``Z Y`` maps to
   ``e (3 - e)^2 / 4``). Each level takes the square root of the previous one, so the spectrum
   closes in on 1.
3. Series: with ``Y = A_L^1/2`` and ``Z = A_L^-1/2`` of the last level, ``Y - Z = 2 sinh(logm(A_L)
   / 2)``, so ``logm(A_L) = 2 asinh((Y - Z) / 2)``, an odd power series evaluated by Horner's rule
   in ``x^2``, and ``logm(A) = 2^(L - 1) logm(A_L)``.

How many levels, iterations and series terms the graph unrolls follows from a bound on the
condition number of ``S`` (:func:`log_schedule` simulates the scalar iterations on the
extreme eigenvalues and picks the cheapest schedule that reaches float32 accuracy); every
matrix of the iteration is a polynomial in ``A``, so the scalar analysis is exact.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from decoders.training.graph import GraphParts

__all__ = ["LogSchedule", "log_schedule", "logm_graph"]

#: An eigenvalue of ``Z Y`` this close to 1 counts as converged (float32 resolution).
_CONVERGED = 2e-8
#: A series term below this (relative to the largest log) counts as negligible.
_SERIES_TOL = 1e-9
#: Most square-root levels and iterations per level tried by :func:`log_schedule`.
_MAX_LEVELS = 8
_MAX_ITERATIONS = 60


@dataclass(frozen=True, slots=True)
class LogSchedule:
    """What :func:`logm_graph` unrolls.

    Parameters
    ----------
    iterations : tuple of int
        Newton-Schulz iterations of each square-root level (its length is the level count).
    terms : int
        Terms of the asinh series (odd powers ``x, x^3, ...``).
    """

    iterations: tuple[int, ...]
    terms: int

    @property
    def matmuls(self) -> int:
        """Batched (n, n) products in the graph: 3 squarings, the iterations, the series."""
        newton = sum(1 + 3 * (k - 1) for k in self.iterations)
        return 3 + newton + self.terms + 1


def _newton_schulz(e: float, iterations: int) -> float:
    """Eigenvalue of ``Z Y`` after ``iterations`` steps from an eigenvalue ``e`` of ``A``."""
    for _ in range(iterations):
        e = e * (3.0 - e) ** 2 / 4.0
    return e


def _iterations_needed(lo: float, hi: float) -> int:
    """Fewest steps after which eigenvalues ``lo`` and ``hi`` of ``A`` (<= 1) have converged."""
    for k in range(1, _MAX_ITERATIONS + 1):
        if all(abs(_newton_schulz(e, k) - 1.0) < _CONVERGED for e in (lo, hi)):
            return k
    raise ValueError(f"Newton-Schulz does not converge for eigenvalues in [{lo:g}, {hi:g}]")


def _asinh_terms(x: float, scale: float) -> int:
    """Series terms of ``asinh`` for ``|x| <= x`` until a term times ``scale`` is negligible."""
    coef, k = 1.0, 0
    while True:
        if scale * coef * x ** (2 * k + 1) / (2 * k + 1) < _SERIES_TOL:
            return max(k, 1)
        coef *= (2 * k + 1) / (2 * k + 2)
        k += 1


def log_schedule(condition: float, n: int) -> LogSchedule:
    """Return the cheapest schedule for matrices of condition number up to ``condition``.

    Parameters
    ----------
    condition : float
        Upper bound of ``lambda_max / lambda_min`` of the matrices the graph will see, >= 1.
    n : int
        Matrix size (the scaling bound is loose by up to ``n^(1/16)``).
    """
    if not (math.isfinite(condition) and condition >= 1.0):
        raise ValueError(f"condition number must be finite and >= 1, got {condition}")
    hi = n ** (-1.0 / 16.0)  # largest eigenvalue of A, at worst
    lo = hi / condition  # smallest
    best: LogSchedule | None = None
    for levels in range(1, _MAX_LEVELS + 1):
        iterations = []
        a_lo, a_hi = lo, 1.0
        for level in range(levels):
            iterations.append(_iterations_needed(a_lo, min(a_hi, hi if level == 0 else a_hi)))
            if level < levels - 1:
                a_lo, a_hi = math.sqrt(a_lo), math.sqrt(a_hi)
        # Last level: x = sinh(log(e) / 2) over its eigenvalues; the log is scaled by 2^L.
        x = max(abs(math.sinh(math.log(e) / 2.0)) for e in (a_lo, hi ** (0.5 ** (levels - 1))))
        if x >= 0.95:
            continue  # the series would barely converge
        schedule = LogSchedule(tuple(iterations), _asinh_terms(x, 2.0**levels))
        if best is None or schedule.matmuls < best.matmuls:
            best = schedule
    if best is None:
        raise ValueError(f"no log schedule for condition number {condition:g}")
    return best


def _asinh_coefficients(terms: int) -> list[float]:
    """Coefficients of ``x^(2k + 1)`` in ``asinh(x)``, k = 0 .. terms - 1."""
    out, coef = [], 1.0
    for k in range(terms):
        out.append((-1) ** k * coef / (2 * k + 1))
        coef *= (2 * k + 1) / (2 * k + 2)
    return out


def logm_graph(parts: GraphParts, s: str, n: int, schedule: LogSchedule, prefix: str) -> str:
    """Append ``logm`` of SPD ``s`` (batch, n, n); return the name of the (batch, n, n) result.

    Parameters
    ----------
    parts : GraphParts
        The graph under construction.
    s : str
        Name of the input, float32 (batch, n, n), symmetric positive definite.
    n : int
        Matrix size.
    schedule : LogSchedule
        Levels, iterations and series terms (from :func:`log_schedule`).
    prefix : str
        Prefix of every node and constant name.
    """

    def name(tag: str) -> str:
        return f"{prefix}_{tag}"

    def op(op_type: str, inputs: list[str], tag: str, **attrs: object) -> str:
        return parts.op(op_type, inputs, name(tag), **attrs)

    eye = parts.const(name("eye"), np.eye(n))
    three_eye = parts.const(name("three_eye"), 3.0 * np.eye(n))
    half = parts.const(name("half"), 0.5)
    # 1. Scale by the mean eigenvalue, then by a bound of the largest.
    axes = parts.const(name("axes"), [1, 2], np.int64)
    trace = op("ReduceSum", [op("Mul", [s, eye], "diag"), axes], "trace", keepdims=1)
    mean_eig = op("Mul", [trace, parts.const(name("inv_n"), 1.0 / n)], "mean_eig")
    t = op("Div", [s, mean_eig], "t")
    power = t
    for k in range(3):
        power = op("MatMul", [power, power], f"pow{2 ** (k + 1)}")
    frob = op("ReduceL2", [power], "frob", axes=[1, 2], keepdims=1)
    bound = op("Pow", [frob, parts.const(name("eighth"), 0.125)], "bound")
    a = op("Div", [t, bound], "a")
    # 2. Square-root levels by coupled Newton-Schulz.
    y, z = a, ""
    for level, iterations in enumerate(schedule.iterations):
        if level > 0:
            a = y
        # First step from Z = I: M = (3 I - A) / 2, Y = A M, Z = M.
        m = op("Mul", [op("Sub", [three_eye, a], f"l{level}_r0"), half], f"l{level}_m0")
        y = op("MatMul", [a, m], f"l{level}_y0")
        z = m
        for k in range(1, iterations):
            zy = op("MatMul", [z, y], f"l{level}_zy{k}")
            m = op("Mul", [op("Sub", [three_eye, zy], f"l{level}_r{k}"), half], f"l{level}_m{k}")
            y = op("MatMul", [y, m], f"l{level}_y{k}")
            z = op("MatMul", [m, z], f"l{level}_z{k}")
    # 3. logm(A_L) = 2 asinh((Y - Z) / 2), Horner in x^2; logm(S) = 2^L asinh(x) + log(scale) I.
    x = op("Mul", [op("Sub", [y, z], "y_minus_z"), half], "x")
    x2 = op("MatMul", [x, x], "x2")
    coefficients = _asinh_coefficients(schedule.terms)
    poly = op("Mul", [eye, parts.const(name(f"c{len(coefficients) - 1}"), coefficients[-1])], "p")
    for k in range(len(coefficients) - 2, -1, -1):
        product = op("MatMul", [x2, poly], f"x2p{k}")
        poly = op(
            "Add", [product, parts.const(name(f"ci{k}"), coefficients[k] * np.eye(n))], f"p{k}"
        )
    series = op("MatMul", [x, poly], "asinh")
    log_a = op(
        "Mul", [series, parts.const(name("two_l"), 2.0 ** len(schedule.iterations))], "log_a"
    )
    log_scale = op("Log", [op("Mul", [mean_eig, bound], "scale")], "log_scale")
    return op("Add", [log_a, op("Mul", [log_scale, eye], "log_scale_eye")], "logm")
