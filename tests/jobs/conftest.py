from tests.jobs.realparts import smtp_server, throwaway_redis  # noqa: F401
