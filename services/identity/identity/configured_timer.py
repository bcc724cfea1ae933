"""A nameko timer whose interval is a setting of config.yml (issue #12's reminders: REMINDER_TIMER_SECONDS).

nameko's `@timer(interval=...)` fixes the interval when the class is defined, before config.yml is read; this one
takes the setting's name and reads it when the container sets its extensions up (each bound copy is made with the
same arguments, so every worker's timer reads it).
"""
from nameko.timer import Timer

from espace_common.config import ConfigError


class ConfiguredTimer(Timer):
    def __init__(self, setting, default, **kwargs):
        super().__init__(interval=default, **kwargs)
        self.setting = setting

    def setup(self):
        value = self.container.config.get(self.setting)
        if value not in (None, ""):
            try:
                self.interval = float(value)
            except (TypeError, ValueError):
                raise ConfigError(self.setting, "must be a number of seconds.") from None
            if self.interval <= 0:
                raise ConfigError(self.setting, "must be positive.")


configured_timer = ConfiguredTimer.decorator
