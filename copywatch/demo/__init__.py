"""The bundled demo: a generated brand catalog, a demo marketplace served on 127.0.0.1, and ``copywatch demo``."""
