"""Instance registries: exactly computable instances the claims and the bring-your-own checks run on —
single-step (``single_step``), diffusion chains (``chain``) and the tractability primitives (``tractability``).
"""
