"""irkit: incident-response records that hold up later.

The package root stays import-light on purpose: `irkit note add` must start fast, so
submodules are imported by whoever needs them, never from here.
"""

__version__ = "0.1.0"
FORMAT_VERSION = 1

__all__ = ["FORMAT_VERSION", "__version__"]
