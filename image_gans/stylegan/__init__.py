"""StyleGAN (Karras, Laine, Aila, CVPR 2019) and a DCGAN baseline, trained by the engine's
unconditional objective and applied by ``vcgan sample``."""
from . import family  # noqa: F401  (registration)
