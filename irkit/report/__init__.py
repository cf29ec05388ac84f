"""PDF reports built from the signed journal: reproducible, and tied to a checkpoint."""
