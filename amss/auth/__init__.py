"""Authentication: JWT, refresh tokens, password hashing, RBAC policy."""
