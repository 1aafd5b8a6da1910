"""Poisson blending (Pérez et al. 2003), GLCIC's post-processing: the completed region
keeps its gradients while its colours meet the known pixels around the hole."""
from __future__ import annotations

import numpy as np
from scipy import sparse
from scipy.sparse.linalg import factorized


def poisson_blend(completed: np.ndarray, original: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Blend the hole of ``completed`` into ``original``.

    Per channel, solves the discrete Poisson equation Laplacian(f) = Laplacian(completed)
    on the hole pixels (``mask > 0.5``) with f = ``original`` at the known pixels next to
    the hole. At the image border the 4-neighbour Laplacian uses only the neighbours that
    exist, for f and for the guidance alike.

    Parameters
    ----------
    completed : float (H, W, C) or (H, W), any range: the completion network's output.
        Its values at the known pixels next to the hole set the gradient across the seam,
        so pass the raw output, not one pasted into ``original`` (that keeps its seam).
    original : same shape: the known image; only its pixels outside the hole are used.
    mask : (H, W), 1 inside the hole.

    Returns
    -------
    Array of ``original``'s shape: the blend inside the hole, ``original`` outside.
    """
    completed, original = np.asarray(completed), np.asarray(original)
    hole = np.asarray(mask) > 0.5
    if completed.shape != original.shape or original.ndim not in (2, 3) or hole.shape != original.shape[:2]:
        raise ValueError(f"poisson_blend needs completed and original of one shape (H, W[, C]) and a mask of "
                         f"(H, W); got {completed.shape}, {original.shape} and {hole.shape}")
    out = original.astype(np.result_type(original.dtype, np.float32), copy=True)
    if not hole.any():
        return out
    if hole.all():
        raise ValueError("poisson_blend: the mask is all hole, so no known pixel bounds the blend")
    g = completed.reshape(*hole.shape, -1).astype(np.float64)
    known = original.reshape(*hole.shape, -1).astype(np.float64)
    height, width = hole.shape
    index = np.full(hole.shape, -1)
    ys, xs = np.nonzero(hole)
    n = ys.size
    index[ys, xs] = np.arange(n)
    diag, rhs = np.zeros(n), np.zeros((n, g.shape[-1]))
    rows, cols = [np.arange(n)], []
    for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        qy, qx = ys + dy, xs + dx
        exists = (qy >= 0) & (qy < height) & (qx >= 0) & (qx < width)
        p, qy, qx = np.nonzero(exists)[0], qy[exists], qx[exists]
        diag[p] += 1
        rhs[p] += g[ys[p], xs[p]] - g[qy, qx]
        inside = hole[qy, qx]
        rows.append(p[inside])
        cols.append(index[qy[inside], qx[inside]])
        rhs[p[~inside]] += known[qy[~inside], qx[~inside]]
    off = np.concatenate(cols)
    values = np.concatenate([diag, -np.ones(off.size)])
    matrix = sparse.csc_matrix((values, (np.concatenate(rows), np.concatenate([np.arange(n), off]))), shape=(n, n))
    solve = factorized(matrix)
    out.reshape(*hole.shape, -1)[ys, xs] = np.stack([solve(rhs[:, c]) for c in range(rhs.shape[1])], axis=1)
    return out
