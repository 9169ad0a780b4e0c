"""The review web page: login, the review queue with visual evidence, the seed's search page, reports.

Build it with :func:`create_app`; there is no module-level app object.
"""

from review.app import create_app

__all__ = ["create_app"]
