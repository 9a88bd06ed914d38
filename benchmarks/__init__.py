"""Benchmarks: ``make bench`` runs every one against a baseline measured in the same run."""
