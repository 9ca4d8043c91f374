"""stratify stage."""
