"""Instructor tools: verify a problem, grade mutants of its reference, warm the compile cache."""
