"""Schedules as data: loss weights and learning rates that change with the step."""
from __future__ import annotations

from ..errors import ConfigError


class Schedule:
    """Piecewise-constant value of the training step.

    Built from a number (constant) or from ``[[start_step, value], ...]``; e.g. the
    CycleGAN-VC identity weight ``[[0, 5.0], [10000, 0.0]]`` is 5 for steps < 10^4.
    """

    def __init__(self, spec, name: str = "schedule"):
        if isinstance(spec, (int, float)):
            points = [(0, float(spec))]
        elif isinstance(spec, (list, tuple)) and spec and all(
            isinstance(p, (list, tuple)) and len(p) == 2 for p in spec
        ):
            points = sorted((int(s), float(v)) for s, v in spec)
            if points[0][0] != 0:
                points.insert(0, (0, 0.0))
        else:
            raise ConfigError(f"{name}: expected a number or [[start_step, value], ...], got {spec!r}")
        self.points = points
        self.name = name

    def __call__(self, step: int) -> float:
        value = self.points[0][1]
        for start, v in self.points:
            if step >= start:
                value = v
        return value

    def __repr__(self):
        return f"Schedule({self.points})"


def linear_decay(total_steps: int, decay_start: int):
    """LR multiplier: 1 until ``decay_start``, then linear to 0 at ``total_steps``."""
    span = max(1, total_steps - decay_start)

    def factor(step: int) -> float:
        if step < decay_start:
            return 1.0
        return max(0.0, (total_steps - step) / span)

    return factor
