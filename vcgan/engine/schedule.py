"""Schedules as data: loss weights and learning rates that change during training.

Training has two clocks: the optimizer step, and the *progress* through the run's
budget, ``max(step / steps, elapsed / max_minutes)``. A run bounded by wall time
on a slow machine thus decays its learning rate and switches its fractional
loss schedules as a run that reaches its step count does.
"""
from __future__ import annotations

from ..errors import ConfigError


class Step(int):
    """An optimizer step that also knows the run's progress (0..1) through its budget.

    It is an ``int``, so model code that only counts steps keeps working; a
    :class:`Schedule` with fractional breakpoints reads ``progress``. A plain int
    has progress unknown (fractional breakpoints are then not reached)."""

    def __new__(cls, step: int, progress: float = 0.0):
        obj = super().__new__(cls, int(step))
        obj.progress = float(progress)
        return obj

    def __repr__(self):
        return f"Step({int(self)}, progress={self.progress:.3f})"


def _breakpoint(start, name: str):
    """('step', n) for an int, ('progress', f) for a percentage string like ``"25%"``."""
    if isinstance(start, str) and start.strip().endswith("%"):
        try:
            pct = float(start.strip()[:-1])
        except ValueError:
            pct = -1.0
        if not 0.0 <= pct <= 100.0:
            raise ConfigError(f"{name}: a breakpoint must be a step or a percentage of the run in 0%..100%, got {start!r}")
        return ("progress", pct / 100.0)
    if isinstance(start, bool) or not isinstance(start, (int, float)) or float(start) != int(start) or start < 0:
        raise ConfigError(f"{name}: a breakpoint must be a step (a whole number >= 0) or a percentage like '25%', "
                          f"got {start!r}")
    return ("step", int(start))


class Schedule:
    """Piecewise-constant value over training.

    Built from a number (constant) or from ``[[start, value], ...]`` where each
    ``start`` is a step (``10000``) or a share of the run's budget (``"5%"``);
    e.g. the CycleGAN-VC identity weight ``[[0, 5.0], [10000, 0.0]]`` is 5 for
    steps < 10^4, and ``[[0, 2.0], ["5%", 0.0]]`` is 2 for the first 5% of the
    run however long it turns out to be. One schedule uses one kind of breakpoint.
    """

    def __init__(self, spec, name: str = "schedule"):
        if isinstance(spec, (int, float)) and not isinstance(spec, bool):
            points = [(("step", 0), float(spec))]
        elif isinstance(spec, (list, tuple)) and spec and all(
            isinstance(p, (list, tuple)) and len(p) == 2 for p in spec
        ):
            if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for _, v in spec):
                raise ConfigError(f"{name}: values must be numbers, got {spec!r}")
            points = [(_breakpoint(s, name), float(v)) for s, v in spec]
            kinds = {kind for (kind, at), _ in points if at != 0}
            if len(kinds) > 1:
                raise ConfigError(f"{name}: mixes step and percentage breakpoints: {spec!r}")
            kind = kinds.pop() if kinds else "step"
            points = sorted(((kind, at), v) for (_, at), v in points)
            if points[0][0][1] != 0:
                points.insert(0, ((kind, 0), 0.0))
        else:
            raise ConfigError(f"{name}: expected a number or [[start_step or 'N%', value], ...], got {spec!r}")
        self.kind = points[0][0][0]
        self.points = [(at, v) for (_, at), v in points]
        self.name = name

    def __call__(self, step: int) -> float:
        now = getattr(step, "progress", None) if self.kind == "progress" else step
        if now is None:  # a plain int: fractional breakpoints not reached
            now = 0.0
        value = self.points[0][1]
        for start, v in self.points:
            if now >= start:
                value = v
        return value

    def max(self) -> float:
        """The largest value the schedule ever takes."""
        return max(v for _, v in self.points)

    def __repr__(self):
        unit = "%" if self.kind == "progress" else ""
        shown = [(f"{100 * s:g}%" if unit else s, v) for s, v in self.points]
        return f"Schedule({shown})"


def lr_factor(progress: float, decay_start: float) -> float:
    """LR multiplier by progress (0..1): 1 until ``decay_start`` (a fraction), then linear to 0 at 1."""
    if progress < decay_start:
        return 1.0
    return max(0.0, (1.0 - progress) / max(1e-12, 1.0 - decay_start))
