"""The speech model families (voice conversion, postfilters, waveform postfilters); importing this package registers them with the engine."""
from . import cyclegan_vc, gan_postfilter, stargan_vc, wavecyclegan  # noqa: F401  (registration)
