"""Closest point of approach for many vessels at once: the close-quarters screen.

For every pair of vessels, the minimum separation over ``[0, horizon_s]`` under constant
velocity (which includes pairs already inside the threshold and moving apart) is compared
with ``threshold_m``. :func:`close_pairs` returns exactly the pairs :func:`brute_force_pairs`
returns (a test checks it on seeded snapshots), at a fraction of the cost:

1. **Screen.** Each vessel is placed at its mid-horizon position in a conservative grid
   plane (longitude scaled by the cosine of the highest latitude present and the smallest
   WGS-84 radius of curvature, so grid distances and grid speeds never exceed the true ones).
   Two vessels can come within ``threshold_m`` during the horizon only if their mid-horizon
   points are within ``threshold_m + r_i + r_j`` (``r = speed * horizon / 2``), and indeed
   within ``threshold_m`` plus half the horizon at their relative speed. A uniform grid of
   that size (numba, half-neighbourhood walk, no pair visited twice) yields the candidates;
   inside each cell slow and fast vessels form separate blocks sorted by y, so a vessel
   scans only the band of each block it can reach.
2. **Exact CPA** per candidate on the pair's own local plane (metres per degree east and
   north the mean of the two vessels' WGS-84 values, so a pair costs no trigonometry),
   closed form: ``t* = clamp(-dp.dv / |dv|^2, 0, H)``, ``d = |dp + dv t*|``. Over the few
   kilometres of a close-quarters pair this plane is within a few metres of the ellipsoid
   (the geodesic test bound is 1 % or 20 m).

The per-vessel terms of the exact CPA come from one function (:func:`_vessel_terms`) and the
pair formula from another (:func:`_cpa`), shared by the screen, :func:`pair_cpa` and the brute
force, so the screen and its oracle compare bit-identical distances.

Velocities come from SOG and COG; callers drop vessels whose SOG or COG is not available
(or pass 0 for a vessel known to be stationary). Longitudes may cross the antimeridian.
This module is pure computation: no I/O, no state, no clock.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numba
import numpy as np

from seabridge.units import MPS_PER_KN

__all__ = ["CpaPairs", "brute_force_pairs", "close_pairs", "pair_cpa"]

F64 = np.ndarray[Any, np.dtype[np.float64]]
I64 = np.ndarray[Any, np.dtype[np.int64]]

_A = 6_378_137.0  # WGS-84 semi-major axis (m)
_E2 = 6.694_379_990_14e-3  # WGS-84 first eccentricity squared
_R_MIN = _A * (1.0 - _E2)  # meridional radius at the equator: the smallest radius of curvature
_DEG = math.pi / 180.0
# Slack on the screen radius for the curvature the grid plane ignores (metres + relative).
_SLACK_M = 50.0
_SLACK_REL = 0.01
# Vessels whose half-horizon reach is below this (about 5 kn over 6 min) form each cell's
# slow block: moored, anchored, fishing.
_SLOW_REACH_M = 1000.0
# Runs of one block at most this long are y-sorted in place (insertion sort), longer ones
# with numpy's argsort.
_SHORT_RUN = 24


class CpaPairs(NamedTuple):
    """Pairs (i < j, indices into the input arrays) with their CPA, in a deterministic order
    (the same input gives the same order; :meth:`sorted` orders by (i, j))."""

    i: I64
    j: I64
    cpa_m: F64
    tcpa_s: F64

    def sorted(self) -> CpaPairs:
        """The same pairs ordered by (i, j)."""
        order = np.lexsort((self.j, self.i))
        return CpaPairs(self.i[order], self.j[order], self.cpa_m[order], self.tcpa_s[order])


@numba.njit(cache=True)
def _vessel_terms(lat: Any, sog_kn: Any, cog_deg: Any) -> Any:
    """Per-vessel inputs of :func:`_cpa`: velocity east and north (m/s) and metres per degree
    east and north at the vessel's latitude (WGS-84 radii of curvature); and whether every
    velocity is finite."""
    count = lat.shape[0]
    ve, vn = np.empty(count), np.empty(count)
    east_m_per_deg, north_m_per_deg = np.empty(count), np.empty(count)
    finite = True
    for k in range(count):
        speed = sog_kn[k] * MPS_PER_KN
        course = cog_deg[k] * _DEG
        ve[k] = speed * math.sin(course)
        vn[k] = speed * math.cos(course)
        finite = finite and math.isfinite(ve[k]) and math.isfinite(vn[k])
        phi = lat[k] * _DEG
        s = math.sin(phi)
        w = math.sqrt(1.0 - _E2 * s * s)
        east_m_per_deg[k] = _A / w * math.cos(phi) * _DEG
        north_m_per_deg[k] = _A * (1.0 - _E2) / (w * w * w) * _DEG
    return ve, vn, east_m_per_deg, north_m_per_deg, finite


@numba.njit(cache=True, inline="always")
def _cpa(terms: Any, p: int, q: int, horizon_s: float) -> tuple[float, float]:
    """Minimum separation (m) over [0, horizon_s] and when it happens (s), on the pair's plane.

    ``terms`` is (lat, lon, ve, vn, east_m_per_deg, north_m_per_deg). Swapping p and q negates
    every difference exactly, so the result does not depend on the pair's order.
    """
    lat, lon, ve, vn, east, north = terms
    dlon = lon[q] - lon[p]
    if dlon > 180.0:
        dlon -= 360.0
    elif dlon < -180.0:
        dlon += 360.0
    dx = dlon * 0.5 * (east[p] + east[q])
    dy = (lat[q] - lat[p]) * 0.5 * (north[p] + north[q])
    dvx = ve[q] - ve[p]
    dvy = vn[q] - vn[p]
    dv2 = dvx * dvx + dvy * dvy
    t = 0.0
    if dv2 > 0.0:
        t = -(dx * dvx + dy * dvy) / dv2
        if t < 0.0:
            t = 0.0
        elif t > horizon_s:
            t = horizon_s
    cx = dx + dvx * t
    cy = dy + dvy * t
    return math.sqrt(cx * cx + cy * cy), t


@numba.njit(cache=True)
def _grid(lat: Any, lon: Any, terms: Any, horizon_s: float, threshold_m: float) -> Any:
    """Mid-horizon points, grid velocities and reaches in the grid plane, and each vessel's
    block key ``2 * cell + fast`` (see the module docstring)."""
    _, _, ve, vn, east, north = terms
    count = lat.shape[0]
    cos_ref = max(math.cos(np.abs(lat).max() * _DEG), 1e-6)
    scale_x = _R_MIN * _DEG * cos_ref
    scale_y = _R_MIN * _DEG
    half = 0.5 * horizon_s
    gx, gy = np.empty(count), np.empty(count)
    vgx, vgy, reach = np.empty(count), np.empty(count), np.empty(count)
    for k in range(count):
        # The grid image of the true motion: grid speed is never above the true speed.
        vgx[k] = ve[k] * scale_x / max(east[k], 1e-9 * _A * _DEG)
        vgy[k] = vn[k] * scale_y / north[k]
        gx[k] = lon[k] * scale_x + vgx[k] * half
        gy[k] = lat[k] * scale_y + vgy[k] * half
        reach[k] = math.sqrt(ve[k] * ve[k] + vn[k] * vn[k]) * half * (1.0 + _SLACK_REL) + _SLACK_M
    cell_m = threshold_m + 2.0 * reach.max()
    circumference = 360.0 * scale_x
    columns = max(1, math.ceil(circumference / cell_m))
    block_key = np.empty(count, dtype=np.int64)
    for k in range(count):
        # Mid-horizon points, not start points, choose the cell (so the 3x3 walk suffices);
        # x wraps at the antimeridian.
        gx[k] = ((gx[k] / scale_x) % 360.0) * scale_x
        cell_x = math.floor(gx[k] / cell_m) % columns
        cell_y = math.floor(gy[k] / cell_m)
        block_key[k] = 2 * (cell_y * columns + cell_x) + int(reach[k] > _SLOW_REACH_M)
    return (gx, gy, vgx, vgy, reach), block_key, columns, circumference


@numba.njit(cache=True)
def _block_order(block_key: Any, gy: Any) -> Any:
    """Vessel order by block key, then by grid y within each block."""
    order = np.argsort(block_key)
    count = order.shape[0]
    start = 0
    while start < count:
        end = start + 1
        while end < count and block_key[order[end]] == block_key[order[start]]:
            end += 1
        if end - start > _SHORT_RUN:
            run = order[start:end].copy()
            order[start:end] = run[np.argsort(gy[run])]
        else:
            for a in range(start + 1, end):
                moving = order[a]
                b = a
                while b > start and gy[order[b - 1]] > gy[moving]:
                    order[b] = order[b - 1]
                    b -= 1
                order[b] = moving
        start = end
    return order


@numba.njit(cache=True)
def _cells(sorted_key: Any, sorted_gx: Any, sorted_reach: Any, columns: int) -> Any:
    """Per cell (in key order): key, (slow start, fast start, end), each block's largest
    reach and its extent in grid x (lowest, highest), and the cell's grid column and row."""
    count = sorted_key.shape[0]
    n_cells = 1
    for k in range(1, count):
        n_cells += int(sorted_key[k] // 2 != sorted_key[k - 1] // 2)
    keys = np.empty(n_cells, dtype=np.int64)
    blocks = np.empty((n_cells, 3), dtype=np.int64)
    block_reach = np.zeros((n_cells, 2))
    block_x = np.empty((n_cells, 2, 2))
    block_x[:, :, 0] = np.inf
    block_x[:, :, 1] = -np.inf
    c = -1
    for k in range(count):
        cell, fast = sorted_key[k] // 2, sorted_key[k] % 2
        if c < 0 or cell != keys[c]:
            c += 1
            keys[c] = cell
            blocks[c, 0] = k
            blocks[c, 1] = -1
            if c > 0:
                blocks[c - 1, 2] = k
        if fast == 1 and blocks[c, 1] < 0:
            blocks[c, 1] = k
        block_reach[c, fast] = max(block_reach[c, fast], sorted_reach[k])
        block_x[c, fast, 0] = min(block_x[c, fast, 0], sorted_gx[k])
        block_x[c, fast, 1] = max(block_x[c, fast, 1], sorted_gx[k])
    blocks[c, 2] = count
    for c in range(n_cells):
        if blocks[c, 1] < 0:
            blocks[c, 1] = blocks[c, 2]  # no fast block: it starts (empty) at the cell's end
    cell_y = keys // columns  # floor division: rows south of the equator are negative
    return keys, blocks, block_reach, block_x, keys - cell_y * columns, cell_y


@numba.njit(cache=True, inline="always")
def _x_gap(x: float, low: float, high: float, circumference: float) -> float:
    """Shortest grid-x distance from x to any point of [low, high], either way round."""
    gap = circumference
    for shift in (-circumference, 0.0, circumference):
        gap = min(gap, max(0.0, low - (x + shift), (x + shift) - high))
    return gap


@numba.njit(cache=True)
def _band(gy: Any, lo: int, hi: int, low_y: float) -> int:
    """First index in ``[lo, hi)`` whose grid y is at least ``low_y`` (gy sorted there)."""
    return lo + int(np.searchsorted(gy[lo:hi], low_y))


@numba.njit(cache=True)
def _walk(first_cell: int, found: int, cells: Any, columns: int, circumference: float,
          grid: Any, terms: Any, horizon_s: float, threshold_m: float,
          out: Any) -> Any:  # fmt: skip
    """Visit cells from ``first_cell`` and their half neighbourhoods; write the pairs whose
    exact CPA is close into ``out`` from ``found`` on.

    All arrays are in block order. Each cell holds two blocks, slow vessels then fast ones
    (``blocks[c] = (slow start, fast start, end)``), each sorted by grid y, so a vessel
    only scans the band of each block it can reach: a moored vessel does not scan a whole
    cell because one fast ship passes through it. Returns (cells done, pairs written): when
    ``out`` fills up it stops before the cell that overflowed, for the caller to grow ``out``
    and resume there (the buffers are never reassigned here, which keeps this loop fast).
    """
    keys, blocks, block_reach, block_x, cell_x, cell_y = cells
    gx, gy, vgx, vgy, reach = grid
    out_i, out_j, out_d, out_t = out
    capacity = out_i.shape[0]
    half_horizon = 0.5 * horizon_s
    n_cells = keys.shape[0]
    for c in range(first_cell, n_cells):
        found_before = found
        for step in range(5):
            dxc = (0, 1, 1, 1, 0)[step]
            dyc = (0, -1, 0, 1, 1)[step]
            other = (cell_y[c] + dyc) * columns + (cell_x[c] + dxc) % columns
            k = c
            if step > 0:
                k = np.searchsorted(keys, other)
                if k >= n_cells or keys[k] != other or k == c:  # k == c: a grid one cell wide
                    continue
            for p in range(blocks[c, 0], blocks[c, 2]):
                p_fast = p >= blocks[c, 1]
                gxp, gyp, rp = gx[p], gy[p], reach[p] + threshold_m
                for fast in range(2):
                    lo, hi = blocks[k, fast], blocks[k, fast + 1]
                    if step == 0:
                        if fast == 0 and p_fast:
                            continue  # slow-fast pairs of a cell are visited from the slow side
                        if fast == int(p_fast):
                            lo = p + 1
                    window = rp + block_reach[k, fast]
                    # Skip a block whose extent is out of reach without a binary search.
                    if lo >= hi or gy[lo] - gyp > window or gyp - gy[hi - 1] > window:
                        continue
                    low_x, high_x = block_x[k, fast, 0], block_x[k, fast, 1]
                    if _x_gap(gxp, low_x, high_x, circumference) > window:
                        continue
                    q = _band(gy, lo, hi, gyp - window)
                    while q < hi:
                        ddy = gy[q] - gyp
                        if ddy > window:
                            break
                        ddx = abs(gx[q] - gxp)
                        if ddx > 0.5 * circumference:  # the shorter way round the globe
                            ddx = circumference - ddx
                        limit = rp + reach[q]
                        distance2 = ddx * ddx + ddy * ddy
                        if distance2 > limit * limit:
                            q += 1
                            continue
                        # Tighter: mid points of a pair that ever comes within the threshold
                        # are within it plus half the horizon at their *relative* speed.
                        dvx, dvy = vgx[q] - vgx[p], vgy[q] - vgy[p]
                        tight = (
                            threshold_m
                            + math.sqrt(dvx * dvx + dvy * dvy) * half_horizon * (1.0 + _SLACK_REL)
                            + 2.0 * _SLACK_M
                        )
                        if distance2 <= tight * tight:
                            d, t = _cpa(terms, p, q, horizon_s)
                            if d < threshold_m:
                                if found == capacity:
                                    return c, found_before
                                out_i[found], out_j[found] = p, q
                                out_d[found], out_t[found] = d, t
                                found += 1
                        q += 1
    return n_cells, found


@numba.njit(cache=True)
def _new_out(capacity: int) -> Any:
    return (
        np.empty(capacity, dtype=np.int64),
        np.empty(capacity, dtype=np.int64),
        np.empty(capacity),
        np.empty(capacity),
    )


@numba.njit(cache=True)
def _grow(out: Any, found: int) -> Any:
    """Output buffers twice as large, holding the first ``found`` pairs of ``out``."""
    bigger = _new_out(2 * out[0].shape[0])
    bigger[0][:found] = out[0][:found]
    bigger[1][:found] = out[1][:found]
    bigger[2][:found] = out[2][:found]
    bigger[3][:found] = out[3][:found]
    return bigger


@numba.njit(cache=True)
def _screen(lat: Any, lon: Any, terms: Any, horizon_s: float, threshold_m: float) -> Any:
    """The grid screen (see the module docstring); pairs as (i < j) input indices."""
    grid, block_key, columns, circumference = _grid(lat, lon, terms, horizon_s, threshold_m)
    order = _block_order(block_key, grid[1])
    grid = (grid[0][order], grid[1][order], grid[2][order], grid[3][order], grid[4][order])
    cells = _cells(block_key[order], grid[0], grid[4], columns)
    terms = (terms[0][order], terms[1][order], terms[2][order], terms[3][order],
             terms[4][order], terms[5][order])  # fmt: skip
    out = _new_out(max(1024, lat.shape[0]))
    done, found = 0, 0
    while True:
        done, found = _walk(done, found, cells, columns, circumference, grid, terms, horizon_s,
                            threshold_m, out)  # fmt: skip
        if done == cells[0].shape[0]:
            break
        out = _grow(out, found)
    i, j = np.empty(found, dtype=np.int64), np.empty(found, dtype=np.int64)
    for k in range(found):
        a, b = order[out[0][k]], order[out[1][k]]
        i[k], j[k] = min(a, b), max(a, b)
    return i, j, out[2][:found].copy(), out[3][:found].copy()


def _terms(lat: F64, lon: F64, sog_kn: F64, cog_deg: F64) -> tuple[F64, ...]:
    """(lat, lon, ve, vn, east_m_per_deg, north_m_per_deg) as contiguous float64 columns."""
    lat = np.ascontiguousarray(lat, dtype=np.float64)
    ve, vn, east, north, finite = _vessel_terms(
        lat,
        np.ascontiguousarray(sog_kn, dtype=np.float64),
        np.ascontiguousarray(cog_deg, dtype=np.float64),
    )
    if not finite:
        raise ValueError("SOG and COG must be known for every vessel screened")
    return lat, np.ascontiguousarray(lon, dtype=np.float64), ve, vn, east, north


def close_pairs(
    lat: F64, lon: F64, sog_kn: F64, cog_deg: F64, *, horizon_s: float, threshold_m: float
) -> CpaPairs:
    """All pairs whose minimum separation within ``horizon_s`` is below ``threshold_m``.

    Args:
        lat, lon: positions in degrees (WGS-84) at the evaluation time.
        sog_kn, cog_deg: speed and course over ground; no NaN (filter those vessels first).
        horizon_s: how far ahead to look (s).
        threshold_m: the separation that makes a pair close (m).
    """
    terms = _terms(lat, lon, sog_kn, cog_deg)
    if terms[0].shape[0] < 2:
        return CpaPairs(np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0), np.empty(0))
    i, j, d, t = _screen(terms[0], terms[1], terms, float(horizon_s), float(threshold_m))
    return CpaPairs(i, j, d, t)


def pair_cpa(
    lat: F64, lon: F64, sog_kn: F64, cog_deg: F64, i: I64, j: I64, *, horizon_s: float
) -> tuple[F64, F64]:
    """Exact CPA (m) and its time (s) for the given pairs, vectorized (same formula)."""
    terms = _terms(lat, lon, sog_kn, cog_deg)
    cpa_m, tcpa_s = _pairs_cpa(
        terms, np.asarray(i, np.int64), np.asarray(j, np.int64), float(horizon_s)
    )
    return np.asarray(cpa_m, np.float64), np.asarray(tcpa_s, np.float64)


@numba.njit(cache=True)
def _pairs_cpa(terms: Any, i: Any, j: Any, horizon_s: float) -> Any:
    d = np.empty(i.shape[0])
    t = np.empty(i.shape[0])
    for k in range(i.shape[0]):
        d[k], t[k] = _cpa(terms, i[k], j[k], horizon_s)
    return d, t


@numba.njit(cache=True)
def _all_pairs_from(first: int, found: int, terms: Any, horizon_s: float, threshold_m: float,
                    out: Any) -> Any:  # fmt: skip
    """Every pair (p < q) from row ``first`` on, into ``out`` (resumable like :func:`_walk`)."""
    out_i, out_j, out_d, out_t = out
    count = terms[0].shape[0]
    for p in range(first, count - 1):
        found_before = found
        for q in range(p + 1, count):
            d, t = _cpa(terms, p, q, horizon_s)
            if d < threshold_m:
                if found == out_i.shape[0]:
                    return p, found_before
                out_i[found], out_j[found], out_d[found], out_t[found] = p, q, d, t
                found += 1
    return count, found


@numba.njit(cache=True)
def _all_pairs(terms: Any, horizon_s: float, threshold_m: float) -> Any:
    out = _new_out(1024)
    done, found = 0, 0
    while True:
        done, found = _all_pairs_from(done, found, terms, horizon_s, threshold_m, out)
        if done >= terms[0].shape[0] - 1:
            break
        out = _grow(out, found)
    return out[0][:found], out[1][:found], out[2][:found], out[3][:found]


def brute_force_pairs(
    lat: F64, lon: F64, sog_kn: F64, cog_deg: F64, *, horizon_s: float, threshold_m: float
) -> CpaPairs:
    """Every pair checked with the same exact CPA: the oracle for :func:`close_pairs`."""
    terms = _terms(lat, lon, sog_kn, cog_deg)
    return CpaPairs(*_all_pairs(terms, float(horizon_s), float(threshold_m)))
