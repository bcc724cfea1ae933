"""Password hashing with argon2id, off the event loop because it is CPU-heavy on purpose."""
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from eventlet import tpool

_hasher = PasswordHasher()


def hash_password(password):
    return tpool.execute(_hasher.hash, password)


def verify_password(password_hash, password):
    """(matches, needs_rehash)."""
    try:
        tpool.execute(_hasher.verify, password_hash, password)
    except (VerificationError, InvalidHashError):
        return False, False
    return True, _hasher.check_needs_rehash(password_hash)


def burn_verification(password):
    """Spend the time of a real check when there is no hash, so timing reveals nothing."""
    verify_password(_DUMMY_HASH, password)


_DUMMY_HASH = _hasher.hash("never-a-real-password")
