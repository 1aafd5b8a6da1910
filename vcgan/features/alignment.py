"""Frame alignment of two renditions of one sentence (synthetic and natural speech)."""
from __future__ import annotations

import numpy as np

# frame counts this close are taken as already aligned (WORLD and the STFT round lengths differently)
FRAME_TOLERANCE = 2


def align_frames(x: np.ndarray, y: np.ndarray, tolerance: int = FRAME_TOLERANCE) -> tuple[np.ndarray, dict]:
    """For each frame of ``x`` the index of its frame in ``y``, and a report.

    ``x``, ``y``: (frames, dims) mel-cepstra (c0 first, left out of the distance).
    Sequences whose lengths differ by at most ``tolerance`` frames are paired frame by
    frame; others by DTW on c1.., taking for every ``x`` frame the first ``y`` frame the
    path pairs it with. The report says how: ``method`` (frames/dtw), both lengths, and
    ``stretch``, the share of path steps that hold one side still (0 for a diagonal path).
    """
    tx, ty = len(x), len(y)
    if tx == 0 or ty == 0:
        raise ValueError("cannot align an empty sequence")
    if abs(tx - ty) <= tolerance:
        idx = np.minimum(np.arange(tx), ty - 1)
        return idx, {"method": "frames", "frames": tx, "ref_frames": ty, "stretch": 0.0}
    import librosa

    _, wp = librosa.sequence.dtw(np.asarray(x[:, 1:], dtype=np.float64).T, np.asarray(y[:, 1:], dtype=np.float64).T,
                                 metric="euclidean")
    wp = wp[::-1]
    idx = np.full(tx, -1)
    for i, j in wp:
        if idx[i] < 0:
            idx[i] = j
    steps = np.diff(wp, axis=0)
    held = float(np.mean((steps == 0).any(axis=1))) if len(steps) else 0.0
    return idx, {"method": "dtw", "frames": tx, "ref_frames": ty, "stretch": held}
