"""Spiders: the generic product spider (with sitemap and shop-platform JSON discovery)."""
