"""What the launcher checks before the childcare service starts: a wrong setting stops it with one sentence."""


def check_config(config):
    # The family's data in its hands (issue #12): a retention period that is not a number of days.
    from .domain_gdpr import retention_from_config
    retention_from_config(config)
