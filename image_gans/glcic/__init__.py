"""GLCIC (Iizuka, Simo-Serra, Ishikawa, SIGGRAPH 2017): image completion by a completion
network and global + local discriminators, trained by the engine in three phases and
applied by ``vcgan complete``."""
from . import family  # noqa: F401  (registration)
