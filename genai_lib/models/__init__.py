"""Model families, one file each, with a typed config beside every model."""
