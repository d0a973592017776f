"""Grading: the work queue, the worker processes and the graders that claim and grade
submissions. It builds on the store and never imports the web."""
