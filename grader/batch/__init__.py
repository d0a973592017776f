"""Grading a class at once, and its gradebook exports (CSV, Gradescope, JUnit)."""
