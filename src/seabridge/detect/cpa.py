"""Closest point of approach for many vessels at once: the close-quarters screen.

For every pair of vessels, the minimum separation over ``[0, horizon_s]`` under constant
velocity (which includes pairs already inside the threshold and moving apart) is compared
with ``threshold_m``. :func:`close_pairs` returns exactly the pairs :func:`brute_force_pairs`
returns (a test checks it on seeded snapshots), at a fraction of the cost:

1. **Screen.** Each vessel is placed at its mid-horizon position in a conservative grid
   plane (longitude scaled by the cosine of the highest latitude present and the smallest
   WGS-84 radius of curvature, so grid distances and grid speeds never exceed the true ones).
   Two vessels can come within ``threshold_m`` during the horizon only if their mid-horizon
   points are within ``threshold_m + r_i + r_j`` (``r = speed * horizon / 2``). A uniform
   grid of that size (numba, half-neighbourhood walk, no pair visited twice) yields the
   candidates.
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
def _walk(starts: Any, keys: Any, cell_x: Any, cell_y: Any, cell_reach: Any, columns: int,
          circumference: float, gx: Any, gy: Any, reach: Any, lat: Any, lon: Any, ve: Any,
          vn: Any, horizon_s: float, threshold_m: float) -> Any:  # fmt: skip
    """Visit every cell and its half neighbourhood; keep pairs whose exact CPA is close.

    All arrays are in cell order (vessels of one cell are contiguous, sorted by grid y), so
    the inner loops read memory sequentially and stop at the end of the band a vessel can
    reach; returned indices are positions in that order.
    """
    out_i = np.empty(1024, dtype=np.int64)
    out_j = np.empty(1024, dtype=np.int64)
    out_d = np.empty(1024, dtype=np.float64)
    out_t = np.empty(1024, dtype=np.float64)
    found = 0
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
            end = starts[k + 1]
            for p in range(starts[c], starts[c + 1]):
                gxp, gyp, rp = gx[p], gy[p], reach[p] + threshold_m
                # Cells are sorted by y: only a band of the other cell can be in reach.
                window = rp + cell_reach[k]
                q = p + 1 if step == 0 else starts[k]
                if step != 0:
                    q += np.searchsorted(gy[starts[k] : end], gyp - window)
                while q < end:
                    ddy = gy[q] - gyp
                    if ddy > window:
                        break
                    ddx = abs(gx[q] - gxp)
                    if ddx > 0.5 * circumference:  # the shorter way round the globe
                        ddx = circumference - ddx
                    limit = rp + reach[q]
                    q += 1
                    if ddx * ddx + ddy * ddy > limit * limit:
                        continue
                    d, t = _cpa(lat[p], lon[p], ve[p], vn[p], lat[q - 1], lon[q - 1], ve[q - 1],
                                vn[q - 1], horizon_s)  # fmt: skip
                    if d < threshold_m:
                        if found == out_i.shape[0]:
                            out_i = _grow(out_i, found)
                            out_j = _grow(out_j, found)
                            out_d = _grow(out_d, found)
                            out_t = _grow(out_t, found)
                        out_i[found] = p
                        out_j[found] = q - 1
                        out_d[found] = d
                        out_t[found] = t
                        found += 1
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
    order = np.lexsort((gy, key))
    keys, starts = np.unique(key[order], return_index=True)
    cell_reach = np.maximum.reduceat(reach[order], starts)
    starts = np.append(starts, count).astype(np.int64)
    first = order[starts[:-1]]
    i, j, d, t = _walk(starts, keys, cell_x[first], cell_y[first], cell_reach, columns,
                       360.0 * scale_x, gx_wrapped[order], gy[order], reach[order], lat[order],
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
