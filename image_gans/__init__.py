"""Image GANs trained by the vcgan engine: CycleGAN, StarGAN, pix2pix and StyleGAN (with a
DCGAN baseline).

The objectives are the engine's (``vcgan.engine.objectives``), the same the speech
models use; this package adds image networks, data layouts and the family
declarations. Importing it registers the families with the engine.
"""
from . import cyclegan, pix2pix, stargan, stylegan  # noqa: F401  (registration)
