"""The moodmix engine: plugin contract, configuration, storage, database, jobs and auth.

Nothing in here knows a capability plugin by name; capabilities arrive through
:mod:`moodmix.engine.hookspecs`.
"""
