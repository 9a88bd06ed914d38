"""Exact point-in-polygon for many points at once, through a grid of classified cells.

A regular lon/lat grid over the polygon's bounding box marks every cell that the boundary
touches (and, for safety against rounding, their 8 neighbours) as *edge*; every other cell
is wholly inside or wholly outside, decided once by testing one cell centre per horizontal
run of non-edge cells (a run meets no boundary, so it cannot change state). A query then
costs a few numpy passes to find each point's cell, plus an exact GEOS test
(``shapely.contains_xy`` on the prepared polygon) for the points in edge cells only.

The answer is the same as ``shapely.contains_xy(polygon, lon, lat)`` for every point
(boundary points are not contained; NaN is never contained). This module is private to
:mod:`seabridge.geo.zones`; it must stay free of zone semantics.
"""

from __future__ import annotations

import math

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry import MultiPolygon, Polygon

__all__ = ["TARGET_CELLS", "RasterIndex"]

FloatArray = NDArray[np.float64]
TARGET_CELLS = 1 << 18
_OUTSIDE, _INSIDE, _EDGE = np.uint8(0), np.uint8(1), np.uint8(2)


class RasterIndex:
    """A polygon with a classified grid for fast exact containment of many points."""

    def __init__(self, geometry: Polygon | MultiPolygon, cells: int = TARGET_CELLS) -> None:
        xmin, ymin, xmax, ymax = geometry.bounds
        width, height = xmax - xmin, ymax - ymin
        if not (width > 0.0 and height > 0.0):
            raise ValueError("RasterIndex needs a polygon with a positive area")
        size = math.sqrt(width * height / cells)
        self._geometry = geometry
        shapely.prepare(geometry)
        self._scale = 1.0 / size
        self._x0 = xmin - 0.5 * size
        self._y0 = ymin - 0.5 * size
        self._nx = math.ceil(width * self._scale) + 1
        self._ny = math.ceil(height * self._scale) + 1
        padded = np.zeros((self._ny + 2, self._nx + 2), dtype=np.uint8)
        padded[1:-1, 1:-1] = self._classify()
        self._table = padded.reshape(-1)

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, columns) of the grid, without its outside border."""
        return self._ny, self._nx

    def edge_fraction(self) -> float:
        """The share of grid cells that need an exact test."""
        return float(np.count_nonzero(self._table == _EDGE)) / (self._nx * self._ny)

    def _axis(self, values: FloatArray, origin: float, count: int) -> NDArray[np.intp]:
        """Cell numbers along one axis in [-1, count]; NaN goes to -1 (outside)."""
        scaled = np.subtract(values, origin)
        scaled *= self._scale
        np.floor(scaled, out=scaled)
        np.fmax(scaled, -1.0, out=scaled)  # fmax/fmin drop NaN in favour of the bound
        np.fmin(scaled, float(count), out=scaled)
        return scaled.astype(np.intp)

    def _cells(self, lon: FloatArray, lat: FloatArray) -> NDArray[np.intp]:
        """Index of every point's cell in the padded, flattened table."""
        flat = self._axis(lat, self._y0, self._ny)
        flat *= self._nx + 2
        flat += self._axis(lon, self._x0, self._nx)
        flat += self._nx + 3
        return flat

    def _edge_cells(self) -> NDArray[np.bool_]:
        """Cells the boundary touches, dilated by one cell in every direction."""
        size = 1.0 / self._scale
        rings = shapely.segmentize(shapely.get_parts(self._geometry.boundary), size)
        coords, ring_index = shapely.get_coordinates(rings, return_index=True)
        ix = np.clip(self._axis(coords[:, 0], self._x0, self._nx), 0, self._nx - 1)
        iy = np.clip(self._axis(coords[:, 1], self._y0, self._ny), 0, self._ny - 1)
        edge = np.zeros((self._ny, self._nx), dtype=np.bool_)
        edge[iy, ix] = True
        same = ring_index[1:] == ring_index[:-1]  # consecutive vertices of one ring
        # A segment no longer than a cell lies in the 2 x 2 block of its end cells.
        edge[iy[1:][same], ix[:-1][same]] = True
        edge[iy[:-1][same], ix[1:][same]] = True
        grown = edge.copy()
        grown[1:, :] |= edge[:-1, :]
        grown[:-1, :] |= edge[1:, :]
        edge = grown.copy()
        edge[:, 1:] |= grown[:, :-1]
        edge[:, :-1] |= grown[:, 1:]
        return edge

    def _classify(self) -> NDArray[np.uint8]:
        """The state of every cell: outside, inside or edge."""
        edge = self._edge_cells()
        free = ~edge
        starts = free.copy()
        starts[:, 1:] &= edge[:, :-1]  # a run starts after an edge cell or at column 0
        run_of_cell = np.cumsum(starts.reshape(-1)) - 1
        row, col = np.divmod(np.flatnonzero(starts), self._nx)
        size = 1.0 / self._scale
        inside = shapely.contains_xy(
            self._geometry, self._x0 + (col + 0.5) * size, self._y0 + (row + 0.5) * size
        )
        run_state = np.where(inside, _INSIDE, _OUTSIDE).astype(np.uint8)
        state = np.full(self._ny * self._nx, _EDGE, dtype=np.uint8)
        free_flat = free.reshape(-1)
        state[free_flat] = run_state[run_of_cell[free_flat]]
        return state.reshape(self._ny, self._nx)

    def contains(self, lon: FloatArray, lat: FloatArray) -> NDArray[np.bool_]:
        """Whether each point is inside the polygon (boundary excluded), exactly."""
        state = self._table[self._cells(lon, lat)]
        result = state == _INSIDE
        edge = np.flatnonzero(state == _EDGE)
        if edge.size:
            result[edge] = shapely.contains_xy(self._geometry, lon[edge], lat[edge])
        return np.asarray(result, dtype=np.bool_)
