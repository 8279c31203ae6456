"""cadence.jobs.retrain."""
