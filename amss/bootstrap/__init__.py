"""The composition root: one module per process kind builds its resources in order and closes them in reverse.

`resources` (settings, clock, key space, Postgres pool, Redis client and batcher: what every
process holds), `commands` (the handler registry, the command bus, the mesh worker's config),
`server` (amss-server), `worker` (amss-worker), `cli` (migrate, seed, create-admin, bench).
Every builder takes its adapters as keyword arguments (`clock=`, `keys=`), so tests pass fakes.
"""
