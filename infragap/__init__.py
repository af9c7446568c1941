"""infragap: measure what proven AI infrastructure buys over naive code, then migrate it."""

__version__ = "0.1.0"
