"""tiltproof: theory-verification suite for inference-time reward alignment."""
__version__ = "0.1.0"
