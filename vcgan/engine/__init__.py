"""The adversarial engine: losses, objectives, schedules and the Trainer.

Modality-free: nothing here imports speech or image code.
"""
from .checkpoint import load_checkpoint, save_checkpoint
from .config import merge, parse_overrides
from .losses import AdversarialLoss, gradient_penalty, r1_penalty
from .precision import resolve_precision
from .schedule import Schedule, Step, linear_decay, lr_factor
from .task import Task
from .trainer import TRAIN_DEFAULTS, Trainer, TrainingDiverged

__all__ = [
    "AdversarialLoss", "Schedule", "Step", "TRAIN_DEFAULTS", "Task", "Trainer", "TrainingDiverged",
    "gradient_penalty", "linear_decay", "load_checkpoint", "lr_factor", "merge", "parse_overrides",
    "r1_penalty", "resolve_precision", "save_checkpoint",
]
