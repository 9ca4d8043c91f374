"""panel stage."""
