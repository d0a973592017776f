"""Trusted data and every cache: expected outputs from the reference, and one module owning the
caches' locations, keys and atomic writes."""
