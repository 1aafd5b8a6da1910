"""Frame-level linguistic features from festival segments, at the WORLD frame rate.

Per frame: one-hot identities of the current phone and its neighbours (festival's US
English phone set, plus "other"), the position in the phone (forward and backward), the
phone's duration, vowel and silence flags, stress, and the positions of phone in
syllable, syllable in word and word in phrase. The frame count is the acoustic
features' frame count, so labels and WORLD features line up frame for frame.
"""
from __future__ import annotations

import numpy as np

from .festival import Segment

PHONES = ("pau aa ae ah ao aw ax axr ay b ch d dh dx eh el em en er ey f g hh ih ix iy jh k l m n nx ng ow oy p r s "
          "sh t th uh uw v w y z zh").split()
PHONE_INDEX = {p: i for i, p in enumerate(PHONES)}
N_PHONE = len(PHONES) + 1  # + "other"
N_NUMERIC = 10
LABEL_DIM = 3 * N_PHONE + N_NUMERIC


def _phone_id(seg: Segment | None) -> int:
    if seg is None:
        return PHONE_INDEX["pau"]
    return PHONE_INDEX.get("pau" if seg.silence else seg.phone, len(PHONES))


def frame_labels(segments: list[Segment], n_frames: int, frame_period_ms: float = 5.0) -> np.ndarray:
    """(n_frames, LABEL_DIM) float32 features; frame t is the instant t * frame_period."""
    if not segments:
        raise ValueError("no segments")
    ends = np.array([s.end for s in segments])
    starts = np.concatenate([[0.0], ends[:-1]])
    times = np.arange(n_frames) * frame_period_ms / 1000.0
    idx = np.minimum(np.searchsorted(ends, times, side="right"), len(segments) - 1)
    per_seg = []
    for i, s in enumerate(segments):
        prev = segments[i - 1] if i > 0 else None
        nxt = segments[i + 1] if i + 1 < len(segments) else None
        per_seg.append((_phone_id(prev), _phone_id(s), _phone_id(nxt), s))
    out = np.zeros((n_frames, LABEL_DIM), np.float32)
    rows = np.arange(n_frames)
    ids = np.array([[p[0], p[1], p[2]] for p in per_seg])[idx]
    out[rows, ids[:, 0]] = 1
    out[rows, N_PHONE + ids[:, 1]] = 1
    out[rows, 2 * N_PHONE + ids[:, 2]] = 1
    dur = np.maximum(ends - starts, 1e-3)[idx]
    pos = np.clip((times - starts[idx]) / dur, 0.0, 1.0)
    num = out[:, 3 * N_PHONE:]
    num[:, 0], num[:, 1], num[:, 2] = pos, 1.0 - pos, dur * 10.0
    seg_feats = np.array([[s.vowel, s.silence, s.stress, s.pos_in_syl / max(s.syl_phones, 1), s.syl_phones / 5.0,
                           s.syl_pos_in_word / max(s.word_syls, 1), s.word_syls / 5.0] for s in segments], np.float32)
    num[:, 3:10] = seg_feats[idx]
    return out
