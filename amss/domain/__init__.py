"""Pure domain: enums, entities, state machines, invariants and domain errors (no I/O)."""
