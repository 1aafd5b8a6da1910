"""GAN postfilters for synthetic speech: mel-cepstrum GAN-PF and band-split STFT GAN-PF."""
from .family import BandPostfilters, MelCepstrumPostfilter, Postfilter, load_postfilter
from .networks import TextureDiscriminator, TexturePostfilter, postfilter_in_chunks

__all__ = ["BandPostfilters", "MelCepstrumPostfilter", "Postfilter", "TextureDiscriminator", "TexturePostfilter",
           "load_postfilter", "postfilter_in_chunks"]
