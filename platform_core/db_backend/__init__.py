"""django-tenants' PostgreSQL backend, with the pool's checkout check of platform_core.db_pool."""
