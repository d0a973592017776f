"""Judging a submission: run it in a sandbox, judge each test and check, name the mistake."""
