"""AMSS: the Aircraft Maintenance Scheduling System backend."""

__version__ = "0.1.0"
