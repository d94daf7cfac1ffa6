"""The command mesh: per-aircraft and per-part-item actors over Redis Stream partitions."""
