"""Settings of the processes in tests/faults (the app's own, with a short retry
interval so a retried job runs a second after it is due, not 10 s)."""

from platform_core.settings import *  # noqa: F403

RQ_RETRY_INTERVALS = [1, 1]
