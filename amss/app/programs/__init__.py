"""Maintenance programs: the service, its ports, the generator of a program's next task and its command."""
