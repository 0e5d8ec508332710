"""Scheduled jobs: each a plain function of (session, now), runnable once with `tracker run-job NAME`."""
