"""Soft best-of-n as a tiltproof theorem package (an example of a package that plugs in from outside).

``softbon_theorem.claims`` registers the claims (entry point ``tiltproof.theorems``: ``softbon``);
``softbon_theorem.sampler`` is the code under test; ``softbon_theorem.exact`` its exact law by enumeration.
"""
