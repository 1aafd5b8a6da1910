"""The speech model families; importing this package registers them with the engine."""
from . import cyclegan_vc, stargan_vc  # noqa: F401  (registration)
