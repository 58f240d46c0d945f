"""Finite-sample estimators with confidence bounds, and the exact quantities they are checked against."""
