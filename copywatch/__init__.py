"""Copywatch: finds stolen product photos and counterfeit logo placement on marketplaces."""

__version__ = "0.1.0"
