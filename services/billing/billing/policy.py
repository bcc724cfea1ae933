"""What the launcher checks before billing starts: a wrong setting stops it with one sentence."""
from .documents import DocumentSettings


def check_config(config):
    DocumentSettings.from_config(config)
