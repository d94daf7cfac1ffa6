"""bcrypt costs: read from a stored hash, and the adapter asks for a re-hash exactly when the cost differs."""

from __future__ import annotations

from amss.auth.adapters import BcryptPasswords
from amss.auth.passwords import hash_cost, hash_password


def test_hash_cost_reads_the_cost_of_a_bcrypt_hash() -> None:
    assert hash_cost(hash_password("pw-123456789", rounds=4)) == 4
    assert hash_cost("$2b$12$" + "a" * 53) == 12
    for not_bcrypt in ("", "plain", "$argon2id$v=19$m=65536$x", "$2b$xx$abc", "2b$12$abc$"):
        assert hash_cost(not_bcrypt) is None


def test_the_adapter_rehashes_other_costs_and_anything_unreadable() -> None:
    passwords = BcryptPasswords(5)
    assert passwords.needs_rehash(hash_password("pw-123456789", rounds=4))
    assert not passwords.needs_rehash(hash_password("pw-123456789", rounds=5))
    assert hash_cost(passwords.decoy_hash) == 5
