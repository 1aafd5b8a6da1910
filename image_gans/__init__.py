"""Image-to-image GANs trained by the vcgan engine.

The objectives live in :mod:`vcgan.engine.objectives` and are modality-free:
``CycleConsistentObjective`` is CycleGAN's and ``MultiDomainObjective`` is
StarGAN's; image networks and datasets will sit here beside them.
"""
