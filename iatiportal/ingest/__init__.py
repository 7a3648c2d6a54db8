"""XML in, plain records out. This package imports no database or web code."""
