"""An aiohttp server on a free loopback port: the base of the fake Discord and Telegram APIs."""

from __future__ import annotations

from aiohttp import web


class LoopbackServer:
    runner: web.AppRunner | None = None
    port: int = 0

    def routes(self, app: web.Application) -> None:
        raise NotImplementedError

    async def start(self):
        app = web.Application(client_max_size=100 * 1024 * 1024)
        self.routes(app)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self.runner:
            await self.runner.cleanup()
