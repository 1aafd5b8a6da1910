"""Exceptions that carry a message meant for the user (the CLI prints it without a traceback)."""


class VcganError(Exception):
    """Base class for errors caused by user input (files, configs, arguments)."""


class AudioError(VcganError):
    """An audio file is missing, empty, corrupt, silent or otherwise unusable."""


class ConfigError(VcganError, ValueError):
    """A configuration file or override is invalid (unknown key, wrong type)."""


class CheckpointError(VcganError):
    """A checkpoint is missing, corrupt or does not fit the requested use."""
