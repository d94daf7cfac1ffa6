"""Use cases: one service per aggregate, orchestrated through the ports in ports.py."""
