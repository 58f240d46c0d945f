"""Exact laws: the quantities the claim checks compare samples and bounds against.

Every module here computes a law or an expectation exactly (closed form, enumeration, or quadrature with an
error bound), from the formula and independently of the sampler under test. The statistical tests that
compare samples with these laws, and their design functions, are the other modules of ``estimators``.
"""
