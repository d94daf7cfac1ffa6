"""Benchmarks run by `amss bench …`: they measure, they never assert a time."""
