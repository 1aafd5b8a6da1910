"""The adversarial engine: the model contract, objectives, losses, schedules,
optimizer groups and the Trainer.

Modality-free: nothing here imports speech or image code.
"""
from .checkpoint import inference_state, load_checkpoint, save_checkpoint, upgrade_checkpoint
from .config import merge, parse_overrides
from .losses import AdversarialLoss, ViewScores, gradient_penalty, r1_penalty
from .model import GANModel
from .optim import EMA, OptimizerGroup
from .precision import resolve_precision
from .schedule import Schedule, Step, lr_factor
from .trainer import TRAIN_DEFAULTS, TRAIN_TYPES, Trainer, TrainingDiverged

__all__ = [
    "EMA", "AdversarialLoss", "GANModel", "OptimizerGroup", "Schedule", "Step", "TRAIN_DEFAULTS", "TRAIN_TYPES",
    "Trainer", "TrainingDiverged", "ViewScores", "gradient_penalty", "inference_state",
    "load_checkpoint", "lr_factor", "merge", "parse_overrides", "r1_penalty", "resolve_precision",
    "save_checkpoint", "upgrade_checkpoint",
]
