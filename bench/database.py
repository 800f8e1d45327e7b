"""The benchmarks' own database: created on first use, never the development one."""

from __future__ import annotations


def ensure_database() -> None:
    """Create the PostgreSQL bench database named by DATABASE_URL if it does not exist."""
    from django.db import OperationalError, connection

    if connection.vendor != "postgresql":
        return
    try:
        connection.ensure_connection()
    except OperationalError:
        import psycopg
        from psycopg import sql

        params = connection.get_connection_params() | {"dbname": "postgres", "autocommit": True}
        with psycopg.connect(**params) as admin:
            admin.execute(
                sql.SQL("CREATE DATABASE {}").format(
                    sql.Identifier(connection.settings_dict["NAME"])
                )
            )
