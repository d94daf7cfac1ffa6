"""Background jobs run by amss-worker."""
