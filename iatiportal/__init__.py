"""iatiportal: a transparency portal for organisations that publish IATI data."""

__version__ = "0.1.0"
