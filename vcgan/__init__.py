"""vcgan: GAN-based speech conversion on WORLD features with one adversarial engine.

``vcgan.load(checkpoint)`` returns what a trained checkpoint does, whatever its family:
``describe()`` and ``apply(...)`` / ``apply_paths(...)`` (convert, postfilter, translate).
"""

__version__ = "0.1.0"


def load(path, command: str | None = None, **options):
    """The inference object of a checkpoint file (see :func:`vcgan.families.load`)."""
    from .families import load as _load

    return _load(path, command, **options)
