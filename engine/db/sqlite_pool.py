"""SQLite with a few long-lived connections instead of one new connection per query.

piccolo's ``SQLiteEngine`` opens a fresh aiosqlite connection (and with it a new thread, a file
open and the schema read) for every query outside a transaction. Under status polling that
was most of the embedded server's CPU time (py-spy: ~58 % of samples in aiosqlite's connection
threads). Here up to ``size`` connections stay open and are handed out one query at a time;
WAL mode (set in ``open_database``) lets readers run alongside the single writer, and the
busy timeout covers writers waiting for each other. Transactions still get their own
connection from piccolo, unchanged.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiosqlite
from piccolo.engine.sqlite import SQLiteEngine, dict_factory


class PooledSQLiteEngine(SQLiteEngine):
    def __init__(self, *args: Any, pool_size: int = 4, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pool_size = pool_size
        self._idle: list[aiosqlite.Connection] = []
        self._opened = 0
        self._available: asyncio.Condition | None = None

    async def _open(self) -> aiosqlite.Connection:
        connection = await aiosqlite.connect(**self.connection_kwargs)
        connection.row_factory = dict_factory  # type: ignore[assignment]
        await connection.execute("PRAGMA foreign_keys = 1")
        return connection

    async def _acquire(self) -> aiosqlite.Connection:
        if self._available is None:
            self._available = asyncio.Condition()
        async with self._available:
            while not self._idle and self._opened >= self.pool_size:
                await self._available.wait()
            if self._idle:
                return self._idle.pop()
            self._opened += 1
        try:
            return await self._open()
        except BaseException:
            async with self._available:
                self._opened -= 1
                self._available.notify()
            raise

    async def _release(self, connection: aiosqlite.Connection, broken: bool) -> None:
        assert self._available is not None
        if broken:
            await connection.close()
        async with self._available:
            if broken:
                self._opened -= 1
            else:
                self._idle.append(connection)
            self._available.notify()

    async def _run_in_new_connection(self, query: str, args: list[Any] | None = None, query_type: str = "generic",
                                     table: Any = None):
        if query_type == "insert" and self.get_version_sync() < 3.35:  # no RETURNING: piccolo's own way
            return await super()._run_in_new_connection(query, args, query_type, table)
        connection = await self._acquire()
        broken = True
        try:
            # One hop to the connection's thread (execute + fetch); foreign keys were switched on at open.
            rows = await connection.execute_fetchall(query, args or [])
            if connection.in_transaction:  # autocommit (isolation_level=None) leaves nothing to commit
                await connection.commit()
            broken = False
            return list(rows)
        finally:
            await self._release(connection, broken)

    async def close_pool(self) -> None:
        idle, self._idle = self._idle, []
        self._opened -= len(idle)
        for connection in idle:
            await connection.close()
