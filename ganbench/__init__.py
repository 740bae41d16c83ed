"""ganbench: GAN benchmarking and evaluation suite."""

__version__ = "0.1.0"
