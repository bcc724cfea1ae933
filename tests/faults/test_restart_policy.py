"""The local runner's back-off for a process that died, as an orchestrator's (no broker needed)."""
from espace_deploy.suite import RestartPolicy


def test_a_process_that_keeps_dying_waits_twice_as_long_each_time_up_to_a_limit():
    policy = RestartPolicy(first=1, longest=30, stable_after=60)
    assert [policy.delay("identity", ran_for=2) for _ in range(7)] == [1, 2, 4, 8, 16, 30, 30]


def test_a_process_that_had_stayed_up_starts_again_from_the_first_delay():
    policy = RestartPolicy(first=1, longest=30, stable_after=60)
    for _ in range(4):
        policy.delay("identity", ran_for=2)
    assert policy.delay("identity", ran_for=61) == 1


def test_each_process_has_its_own_back_off():
    policy = RestartPolicy(first=1, longest=30, stable_after=60)
    policy.delay("identity", ran_for=1)
    policy.delay("identity", ran_for=1)
    assert policy.delay("canteen", ran_for=1) == 1
