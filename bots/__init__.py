"""Discord and Telegram front ends for moodmix.

The bots are thin clients: every capability runs in the engine, reached through a
:class:`~moodmix.bots.backend.BotBackend` (the service layer in-process, or the REST API).
Platform-neutral logic lives in small modules here; ``discord_bot`` and
``telegram_bot`` only translate between a chat platform and :class:`~moodmix.bots.core.BotCore`.
"""
