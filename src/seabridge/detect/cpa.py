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
2. **Exact CPA** per candidate on the pair's own local plane (east scaled by the cosine of
   the pair's mid latitude, WGS-84 radii of curvature there), closed form: ``t* = clamp(-dp.dv
   / |dv|^2, 0, H)``, ``d = |dp + dv t*|``. Over the few kilometres of a close-quarters pair
   this plane is within a few metres of the ellipsoid (the geodesic test bound is 1 % or 20 m).

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


@numba.njit(cache=True, inline="always")
def _cpa(lat_i: float, lon_i: float, ve_i: float, vn_i: float, lat_j: float, lon_j: float,
         ve_j: float, vn_j: float, horizon_s: float) -> tuple[float, float]:  # fmt: skip
    """Minimum separation (m) over [0, horizon_s] and when it happens (s), on the pair's plane."""
    mid = 0.5 * (lat_i + lat_j) * _DEG
    s = math.sin(mid)
    w = math.sqrt(1.0 - _E2 * s * s)
    north_m_per_rad = _A * (1.0 - _E2) / (w * w * w)
    east_m_per_rad = _A / w * math.cos(mid)
    dlon = lon_j - lon_i
    if dlon > 180.0:
        dlon -= 360.0
    elif dlon < -180.0:
        dlon += 360.0
    dx = dlon * _DEG * east_m_per_rad
    dy = (lat_j - lat_i) * _DEG * north_m_per_rad
    dvx = ve_j - ve_i
    dvy = vn_j - vn_i
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
def _grow(buffer: Any, size: int) -> Any:
    bigger = np.empty(max(16, 2 * buffer.shape[0]), dtype=buffer.dtype)
    bigger[:size] = buffer[:size]
    return bigger


@numba.njit(cache=True)
def _band(gy: Any, lo: int, hi: int, low_y: float) -> int:
    """First index in ``[lo, hi)`` whose grid y is at least ``low_y`` (gy sorted there)."""
    return lo + int(np.searchsorted(gy[lo:hi], low_y))


@numba.njit(cache=True)
def _walk(blocks: Any, block_reach: Any, keys: Any, cell_x: Any, cell_y: Any, columns: int,
          circumference: float, gx: Any, gy: Any, vgx: Any, vgy: Any, reach: Any, lat: Any,
          lon: Any, ve: Any, vn: Any, horizon_s: float, threshold_m: float) -> Any:  # fmt: skip
    """Visit every cell and its half neighbourhood; keep pairs whose exact CPA is close.

    All arrays are in cell order. Each cell holds two blocks, slow vessels then fast ones
    (``blocks[c] = (slow start, fast start, end)``), each sorted by grid y, so a vessel
    only scans the band of each block it can reach: a moored vessel does not scan a whole
    cell because one fast ship passes through it. Returned indices are positions in that
    order.
    """
    out_i = np.empty(1024, dtype=np.int64)
    out_j = np.empty(1024, dtype=np.int64)
    out_d = np.empty(1024, dtype=np.float64)
    out_t = np.empty(1024, dtype=np.float64)
    found = 0
    half_horizon = 0.5 * horizon_s
    n_cells = keys.shape[0]
    for c in range(n_cells):
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
                            d, t = _cpa(lat[p], lon[p], ve[p], vn[p], lat[q], lon[q], ve[q],
                                        vn[q], horizon_s)  # fmt: skip
                            if d < threshold_m:
                                if found == out_i.shape[0]:
                                    out_i = _grow(out_i, found)
                                    out_j = _grow(out_j, found)
                                    out_d = _grow(out_d, found)
                                    out_t = _grow(out_t, found)
                                out_i[found] = p
                                out_j[found] = q
                                out_d[found] = d
                                out_t[found] = t
                                found += 1
                        q += 1
    return out_i[:found], out_j[:found], out_d[:found], out_t[:found]


def _velocities(sog_kn: F64, cog_deg: F64) -> tuple[F64, F64]:
    speed = np.asarray(sog_kn, dtype=np.float64) * MPS_PER_KN
    course = np.radians(np.asarray(cog_deg, dtype=np.float64))
    return speed * np.sin(course), speed * np.cos(course)


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
    lat = np.ascontiguousarray(lat, dtype=np.float64)
    lon = np.ascontiguousarray(lon, dtype=np.float64)
    count = lat.shape[0]
    empty = CpaPairs(np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0), np.empty(0))
    if count < 2:
        return empty
    ve, vn = _velocities(sog_kn, cog_deg)
    if not (np.isfinite(ve).all() and np.isfinite(vn).all()):
        raise ValueError("SOG and COG must be known for every vessel screened")
    cos_ref = max(math.cos(math.radians(float(np.abs(lat).max()))), 1e-6)
    scale_x = _R_MIN * _DEG * cos_ref
    scale_y = _R_MIN * _DEG
    # Mid-horizon points in the grid plane: the grid image of the true motion, whose grid
    # speed is never above the true speed (see the module docstring).
    half = 0.5 * horizon_s
    phi = np.radians(lat)
    w = np.sqrt(1.0 - _E2 * np.sin(phi) ** 2)
    east_scale = _R_MIN * cos_ref * w / (_A * np.maximum(np.cos(phi), 1e-9))
    north_scale = _R_MIN * w**3 / (_A * (1.0 - _E2))
    gx = lon * scale_x + ve * half * east_scale
    gy = lat * scale_y + vn * half * north_scale
    reach = np.hypot(ve, vn) * half * (1.0 + _SLACK_REL) + _SLACK_M
    cell_m = threshold_m + 2.0 * float(reach.max())
    columns = max(1, math.ceil(360.0 * scale_x / cell_m))
    # Mid-horizon points, not start points, choose the cell (so the 3x3 walk suffices);
    # x wraps at the antimeridian.
    gx_wrapped = ((gx / scale_x) % 360.0) * scale_x
    cell_x = np.floor(gx_wrapped / cell_m).astype(np.int64) % columns
    cell_y = np.floor(gy / cell_m).astype(np.int64)
    key = cell_y * columns + cell_x
    # Two blocks per cell, slow then fast, each sorted by y (see _walk).
    block_key = key * 2 + (reach > _SLOW_REACH_M)
    order = np.lexsort((gy, block_key))
    sorted_block, sorted_reach = block_key[order], reach[order]
    block_starts = np.flatnonzero(np.diff(sorted_block, prepend=sorted_block[0] - 1))
    block_max = np.maximum.reduceat(sorted_reach, block_starts)
    block_cell = sorted_block[block_starts] // 2
    block_fast = sorted_block[block_starts] % 2
    cell_first = np.flatnonzero(np.diff(block_cell, prepend=block_cell[0] - 1))
    keys = block_cell[cell_first]
    cell_starts = block_starts[cell_first]
    cell_ends = np.append(cell_starts[1:], count)
    # A cell's fast block starts at its fast block's start, or at the cell's end if none.
    fast_start = cell_ends.copy()
    block_reach = np.zeros((keys.shape[0], 2))
    cell_of_block = np.cumsum(np.isin(np.arange(block_starts.shape[0]), cell_first)) - 1
    fast_blocks = block_fast == 1
    fast_start[cell_of_block[fast_blocks]] = block_starts[fast_blocks]
    block_reach[cell_of_block, block_fast] = block_max
    blocks = np.stack([cell_starts, fast_start, cell_ends], axis=1).astype(np.int64)
    first = order[cell_starts]
    i, j, d, t = _walk(blocks, block_reach, keys, cell_x[first], cell_y[first], columns,
                       360.0 * scale_x, gx_wrapped[order], gy[order], (ve * east_scale)[order],
                       (vn * north_scale)[order], sorted_reach, lat[order],
                       lon[order], ve[order], vn[order], float(horizon_s),
                       float(threshold_m))  # fmt: skip
    i, j = order[i], order[j]
    return CpaPairs(np.minimum(i, j), np.maximum(i, j), d, t)


def pair_cpa(
    lat: F64, lon: F64, sog_kn: F64, cog_deg: F64, i: I64, j: I64, *, horizon_s: float
) -> tuple[F64, F64]:
    """Exact CPA (m) and its time (s) for the given pairs, vectorized (same formula)."""
    ve, vn = _velocities(sog_kn, cog_deg)
    cpa_m, tcpa_s = _pairs_cpa(
        np.asarray(lat, np.float64), np.asarray(lon, np.float64), ve, vn,
        np.asarray(i, np.int64), np.asarray(j, np.int64), float(horizon_s),
    )  # fmt: skip
    return np.asarray(cpa_m, np.float64), np.asarray(tcpa_s, np.float64)


@numba.njit(cache=True)
def _pairs_cpa(lat: Any, lon: Any, ve: Any, vn: Any, i: Any, j: Any, horizon_s: float) -> Any:
    d = np.empty(i.shape[0])
    t = np.empty(i.shape[0])
    for k in range(i.shape[0]):
        p, q = i[k], j[k]
        d[k], t[k] = _cpa(lat[p], lon[p], ve[p], vn[p], lat[q], lon[q], ve[q], vn[q], horizon_s)
    return d, t


@numba.njit(cache=True)
def _all_pairs(lat: Any, lon: Any, ve: Any, vn: Any, horizon_s: float, threshold_m: float) -> Any:
    out_i = np.empty(1024, dtype=np.int64)
    out_j = np.empty(1024, dtype=np.int64)
    out_d = np.empty(1024, dtype=np.float64)
    out_t = np.empty(1024, dtype=np.float64)
    found = 0
    for p in range(lat.shape[0] - 1):
        for q in range(p + 1, lat.shape[0]):
            d, t = _cpa(lat[p], lon[p], ve[p], vn[p], lat[q], lon[q], ve[q], vn[q], horizon_s)
            if d < threshold_m:
                if found == out_i.shape[0]:
                    out_i = _grow(out_i, found)
                    out_j = _grow(out_j, found)
                    out_d = _grow(out_d, found)
                    out_t = _grow(out_t, found)
                out_i[found], out_j[found], out_d[found], out_t[found] = p, q, d, t
                found += 1
    return out_i[:found], out_j[:found], out_d[:found], out_t[:found]


def brute_force_pairs(
    lat: F64, lon: F64, sog_kn: F64, cog_deg: F64, *, horizon_s: float, threshold_m: float
) -> CpaPairs:
    """Every pair checked with the same exact CPA: the oracle for :func:`close_pairs`."""
    ve, vn = _velocities(sog_kn, cog_deg)
    lat = np.ascontiguousarray(lat, dtype=np.float64)
    lon = np.ascontiguousarray(lon, dtype=np.float64)
    return CpaPairs(*_all_pairs(lat, lon, ve, vn, float(horizon_s), float(threshold_m)))
