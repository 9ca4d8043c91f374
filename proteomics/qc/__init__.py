"""qc stage."""
