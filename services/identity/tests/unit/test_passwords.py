from identity.passwords import Passwords


def test_a_hash_made_with_other_parameters_asks_to_be_redone():
    cheap, dearer = Passwords(time_cost=1, memory_kib=8192), Passwords(time_cost=2, memory_kib=8192)
    stored = cheap.hash("Brise-Marine-44!")
    assert stored.startswith("$argon2id$")
    assert cheap.verify(stored, "Brise-Marine-44!") == (True, False)
    assert dearer.verify(stored, "Brise-Marine-44!") == (True, True)
    assert dearer.verify(stored, "wrong") == (False, False)


def test_burning_a_check_never_matches():
    assert Passwords(time_cost=1, memory_kib=8192).burn("x") is None
