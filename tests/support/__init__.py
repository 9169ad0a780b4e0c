"""Helpers the tests share: drawn images (:mod:`.images`) and files no encoder writes (:mod:`.files`)."""
