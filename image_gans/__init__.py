"""Image GANs trained by the vcgan engine: CycleGAN, StarGAN, pix2pix, StyleGAN (with a
DCGAN baseline) and GLCIC completion.

The objectives are the engine's (``vcgan.engine.objectives``), the same the speech
models use; this package adds image networks, data layouts and the family
declarations. Importing it registers the families with the engine.
"""
from . import cyclegan, glcic, pix2pix, stargan, stylegan  # noqa: F401  (registration)
