"""Shared pytest configuration: a hypothesis profile without deadlines for CI machines."""

from hypothesis import settings

# Timing varies on shared CI runners; the suite's own time budget is what matters.
settings.register_profile("ci", deadline=None, max_examples=30)
settings.load_profile("ci")
