"""Sub-commands of ``copywatch``; each module has ``register(subparsers)``."""
