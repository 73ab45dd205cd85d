"""Schema migrations, applied in name order by ``moodmix migrate``.

Each module ``mNNNN_description.py`` defines ``async def forwards(engine)`` and must
work on SQLite and Postgres (use piccolo DDL or portable SQL). Applied ids are
recorded in the ``moodmix_migrations`` table.
"""
