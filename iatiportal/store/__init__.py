"""Schema (one definition), migrations, writes and named queries."""
