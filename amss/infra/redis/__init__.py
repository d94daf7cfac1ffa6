"""Redis adapter: client factory, locks, rate limiter, cache."""
