"""Objectives, written once and used by speech and image model families alike."""
from .cycle import CycleConsistentObjective
from .multidomain import MultiDomainObjective
from .paired import PairedObjective
from .toolkit import Composite, HistoryPool, MultiViewDiscriminator, batch_dependent, detach, score_real_fake
from .unconditional import UnconditionalObjective

__all__ = [
    "Composite", "CycleConsistentObjective", "HistoryPool", "MultiDomainObjective", "MultiViewDiscriminator",
    "PairedObjective", "UnconditionalObjective", "batch_dependent", "detach", "score_real_fake",
]
