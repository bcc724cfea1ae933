"""Password hashing with argon2id, off the event loop because it is CPU-heavy on purpose.

The cost parameters are configuration (PASSWORD_TIME_COST, PASSWORD_MEMORY_KIB);
a hash made with other parameters is redone at the next successful login.
"""
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from eventlet import tpool


@lru_cache(maxsize=4)
def hasher(time_cost=3, memory_kib=65536):
    return PasswordHasher(time_cost=int(time_cost), memory_cost=int(memory_kib))


@lru_cache(maxsize=4)
def dummy_hash(time_cost, memory_kib):
    return hasher(time_cost, memory_kib).hash("never-a-real-password")


class Passwords:
    def __init__(self, time_cost=3, memory_kib=65536):
        self._params = (int(time_cost), int(memory_kib))
        self._hasher = hasher(*self._params)

    def hash(self, password):
        return tpool.execute(self._hasher.hash, password)

    def verify(self, password_hash, password):
        """(matches, needs_rehash)."""
        try:
            tpool.execute(self._hasher.verify, password_hash, password)
        except (VerificationError, InvalidHashError):
            return False, False
        return True, self._hasher.check_needs_rehash(password_hash)

    def burn(self, password):
        """Spend the time of a real check when there is no hash, so timing reveals nothing."""
        self.verify(dummy_hash(*self._params), password)
