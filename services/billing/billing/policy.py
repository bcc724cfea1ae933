"""What the launcher checks before billing starts: a wrong setting stops it with one sentence."""
from .documents import DocumentSettings


def check_config(config):
    DocumentSettings.from_config(config)
    # The family's data in its hands (issue #12): a retention period that is not a number of days stops the start.
    from .domain_gdpr import retention_from_config
    retention_from_config(config)
