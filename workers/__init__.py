"""Celery workers: scoring listing images, scheduled crawls, alert emails."""
