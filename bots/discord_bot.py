"""Discord front end (discord.py 2, application commands).

One slash command per engine capability that works on a track (``/remix file genre render``
with genre autocomplete, ``/stems``, ``/mood``, ``/analyze`` …) or on a prompt
(``/generate prompt duration``), plus ``/jobs``, ``/genres``, ``/cancel``, ``/help`` and
``/link``. Commands are built from the engine's capability list at start-up. Work is
deferred, then one message is edited with live progress and finally with the result files;
mistakes get an ephemeral message that says what to do.

A genre press renders a short preview first (capabilities that declare ``preview_seconds``),
with buttons for the full track, another genre, or a split into stems. Interaction tokens
expire after 15 minutes while jobs can take longer: the status message is handed over to a
regular channel message (bot token) before that, or as soon as an edit is refused, and a
result that cannot be sent as files is sent as download links — a finished result is never lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from pathlib import Path
from typing import Any

import discord
from discord import app_commands

from moodmix.bots.backend import ChatRef
from moodmix.bots.catalog import Catalog
from moodmix.bots.core import PREVIEW_SECONDS, BotCore, looks_like_audio
from moodmix.bots.delivery import all_links, links_text, summarize
from moodmix.bots.tickets import Ticket
from moodmix.engine.errors import BadInput, MoodmixError

log = logging.getLogger("moodmix.bots.discord")

MESSAGE_MAX = 2000
ATTACHMENTS_MAX = 10
GENRE_BUTTONS_MAX = 25  # 5 rows of 5
VIEW_TIMEOUT_S = 900.0
#: Interaction tokens work for 15 minutes; past this age the bot edits a message of its own instead.
TOKEN_SAFE_S = 14 * 60.0
#: A button press no view has answered after this long gets an answer from :meth:`on_interaction`.
UNANSWERED_AFTER_S = 1.0
#: Discord's answers to an edit through an expired or unknown interaction token.
TOKEN_GONE = {50027, 10015, 10008}


def configure_endpoints(api_url: str = "", gateway_url: str = "") -> None:
    """Point discord.py at another REST base and gateway (tests, proxies); empty: Discord's own."""
    if api_url:
        discord.http.Route.BASE = api_url.rstrip("/")
    if gateway_url:
        import yarl
        from discord.gateway import DiscordWebSocket

        DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)


class StatusMessage:
    """The one message a flow edits: the interaction's response while its token is fresh, then a
    message of the bot's own in the same channel (or a DM), sent with the bot token."""

    def __init__(self, interaction: discord.Interaction, *, token_safe_s: float = TOKEN_SAFE_S) -> None:
        self.interaction = interaction
        self.fresh_until = time.monotonic() + token_safe_s
        self.message: discord.Message | None = None

    @property
    def handed_over(self) -> bool:
        return self.message is not None

    def _token_ok(self) -> bool:
        return self.message is None and time.monotonic() < self.fresh_until

    async def edit(self, **fields: Any) -> None:
        if self._token_ok():
            try:
                await self.interaction.edit_original_response(**fields)
                return
            except discord.HTTPException as exc:
                if exc.status != 401 and exc.code not in TOKEN_GONE:
                    raise
                log.info("interaction token refused (%s %s); continuing in a channel message",
                         exc.status, exc.code)
                self.fresh_until = 0.0
        await self._own_message(**fields)

    async def send(self, **fields: Any) -> None:
        """An extra message under the status (more files)."""
        if self._token_ok():
            try:
                await self.interaction.followup.send(**fields)
                return
            except discord.HTTPException as exc:
                if exc.status != 401 and exc.code not in TOKEN_GONE:
                    raise
                self.fresh_until = 0.0
        await (await self._channel()).send(**fields)

    async def _channel(self) -> discord.abc.Messageable:
        channel = self.interaction.channel
        if channel is None or not hasattr(channel, "send"):
            channel = await self.interaction.user.create_dm()
        return channel

    async def _own_message(self, **fields: Any) -> None:
        if self.message is not None:
            self.message = await self.message.edit(**fields)
            return
        files = fields.pop("attachments", None)
        if fields.get("view") is None:
            fields.pop("view", None)
        self.message = await (await self._channel()).send(files=files or None, **fields)


def chat_ref(user: discord.abc.User) -> ChatRef:
    return ChatRef("discord", str(user.id), getattr(user, "display_name", None) or user.name)


def _clip(text: str) -> str:
    return text if len(text) <= MESSAGE_MAX else text[: MESSAGE_MAX - 1] + "…"


class OwnedView(discord.ui.View):
    """Buttons under one user's upload: only that user may press them, and every press is answered."""

    def __init__(self, bot: DiscordBot, ticket: Ticket) -> None:
        super().__init__(timeout=VIEW_TIMEOUT_S)
        self.bot = bot
        self.ticket = ticket

    def add_button(self, label: str, custom_id: str, style: discord.ButtonStyle, handler) -> None:
        button: discord.ui.Button = discord.ui.Button(label=label[:80], style=style, custom_id=custom_id[:100])
        button.callback = handler
        self.add_item(button)

    async def on_error(self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item) -> None:
        log.error("button failed: %s", error, exc_info=error)
        await self.bot.tell_unexpected(interaction)

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if str(interaction.user.id) == self.ticket.chat.user_id:
            return True
        await interaction.response.send_message(
            "These buttons belong to someone else's upload — run the command with your own track.",
            ephemeral=True)
        return False


class GenreView(OwnedView):
    """Genre buttons under an uploaded track."""

    def __init__(self, bot: DiscordBot, ticket: Ticket, capability: str, genres: list[str]) -> None:
        super().__init__(bot, ticket)
        self.capability = capability
        for genre in genres[:GENRE_BUTTONS_MAX]:
            self.add_button(genre, f"mm:{ticket.key}:{capability}:{genre}", discord.ButtonStyle.primary,
                            self._make_callback(genre))

    def _make_callback(self, genre: str):
        async def pressed(interaction: discord.Interaction) -> None:
            await self.bot.genre_pressed(interaction, self.ticket.key, self.capability, genre)

        return pressed


class NextView(OwnedView):
    """Under a preview: the full track, another genre, or the track split by a multi-output action."""

    def __init__(self, bot: DiscordBot, ticket: Ticket, capability: str, genre: str | None,
                 split_actions: list[str]) -> None:
        super().__init__(bot, ticket)
        key = ticket.key
        self.add_button("▶ Full track", f"mm:full:{key}:{capability}:{genre or ''}", discord.ButtonStyle.success,
                        self._full(capability, genre))
        self.add_button("🎛 Another genre", f"mm:again:{key}:{capability}", discord.ButtonStyle.secondary,
                        self._again(capability))
        for name in split_actions[:3]:
            self.add_button(f"🎚 {name}", f"mm:split:{key}:{name}", discord.ButtonStyle.secondary,
                            self._split(name))

    def _full(self, capability: str, genre: str | None):
        async def pressed(interaction: discord.Interaction) -> None:
            await self.bot.run_pressed(interaction, self.ticket.key, capability, genre, mode="full")

        return pressed

    def _again(self, capability: str):
        async def pressed(interaction: discord.Interaction) -> None:
            await self.bot.another_genre(interaction, self.ticket.key, capability)

        return pressed

    def _split(self, capability: str):
        async def pressed(interaction: discord.Interaction) -> None:
            await self.bot.run_pressed(interaction, self.ticket.key, capability, None, mode="full")

        return pressed


RENDER_CHOICES = [app_commands.Choice(name=f"preview ({PREVIEW_SECONDS:.0f} s, fast)", value="preview"),
                  app_commands.Choice(name="full track", value="full")]


class DiscordBot:
    """The handlers, bound to one :class:`BotCore`; :meth:`register` builds the command tree."""

    def __init__(self, core: BotCore, *, token_safe_s: float = TOKEN_SAFE_S) -> None:
        self.core = core
        self.token_safe_s = token_safe_s

    # ---- commands from the catalog -----------------------------------------------------------------
    def register(self, tree: app_commands.CommandTree, catalog: Catalog) -> list[str]:
        """Add one command per usable capability, plus the fixed ones; returns the names."""
        for cap in sorted(catalog.track_actions(), key=lambda c: c["name"]):
            previews = "preview_seconds" in catalog.param_names(cap)
            tree.add_command(self._track_command(cap, catalog.takes_genre(cap), previews))
        for cap in sorted(catalog.prompt_actions(), key=lambda c: c["name"]):
            tree.add_command(self._prompt_command(cap, "duration" in catalog.asked_params(cap)))
        for command in self._fixed_commands():
            tree.add_command(command)
        tree.on_error = self.on_tree_error
        return [c.name for c in tree.get_commands()]

    def _track_command(self, cap: dict, takes_genre: bool, previews: bool) -> app_commands.Command:
        name = cap["name"]
        description = Catalog.short_description(cap)
        if takes_genre and previews:
            @app_commands.describe(file="The track (mp3, wav, flac, ogg, m4a)",
                                   genre="Target genre; leave empty to get buttons",
                                   render=f"A {PREVIEW_SECONDS:.0f}-second preview first (default) or the full track")
            @app_commands.choices(render=RENDER_CHOICES)
            async def with_render(interaction: discord.Interaction, file: discord.Attachment,
                                  genre: str | None = None, render: str = "preview") -> None:
                await self.track(interaction, name, file, genre, takes_genre=True, preview=render != "full")

            command = app_commands.Command(name=name, description=description, callback=with_render)
            command.autocomplete("genre")(self._genre_choices)
            return command
        if takes_genre:
            @app_commands.describe(file="The track (mp3, wav, flac, ogg, m4a)",
                                   genre="Target genre; leave empty to get buttons")
            async def with_genre(interaction: discord.Interaction, file: discord.Attachment,
                                 genre: str | None = None) -> None:
                await self.track(interaction, name, file, genre, takes_genre=True)

            command = app_commands.Command(name=name, description=description, callback=with_genre)
            command.autocomplete("genre")(self._genre_choices)
            return command

        @app_commands.describe(file="The track (mp3, wav, flac, ogg, m4a)")
        async def track_only(interaction: discord.Interaction, file: discord.Attachment) -> None:
            await self.track(interaction, name, file, None, takes_genre=False)

        return app_commands.Command(name=name, description=description, callback=track_only)

    def _prompt_command(self, cap: dict, takes_duration: bool) -> app_commands.Command:
        name = cap["name"]
        description = Catalog.short_description(cap)
        if takes_duration:
            @app_commands.describe(prompt="What to make, e.g. 'calm piano with rain'", duration="Length in seconds")
            async def with_duration(interaction: discord.Interaction, prompt: str,
                                    duration: float | None = None) -> None:
                await self.prompt(interaction, name, prompt, {"duration": duration})

            return app_commands.Command(name=name, description=description, callback=with_duration)

        @app_commands.describe(prompt="What to make")
        async def prompt_only(interaction: discord.Interaction, prompt: str) -> None:
            await self.prompt(interaction, name, prompt, {})

        return app_commands.Command(name=name, description=description, callback=prompt_only)

    def _fixed_commands(self) -> list[app_commands.Command]:
        async def jobs(interaction: discord.Interaction) -> None:
            await self._ephemeral_answer(interaction, self.core.jobs_text)

        async def help_(interaction: discord.Interaction) -> None:
            await self._ephemeral_answer(interaction, lambda chat: self.help_text())

        async def genres(interaction: discord.Interaction) -> None:
            await self._ephemeral_answer(interaction, lambda chat: self.genres_text())

        async def cancel(interaction: discord.Interaction) -> None:
            await self._ephemeral_answer(interaction, self.core.cancel)

        @app_commands.describe(code="The code shown on the moodmix web page")
        async def link(interaction: discord.Interaction, code: str) -> None:
            await self._ephemeral_answer(interaction, lambda chat: self.core.link(chat, code))

        return [app_commands.Command(name="jobs", description="Your recent moodmix jobs", callback=jobs),
                app_commands.Command(name="help", description="What this bot can do", callback=help_),
                app_commands.Command(name="genres", description="The genres, one line each", callback=genres),
                app_commands.Command(name="cancel", description="Stop your running job", callback=cancel),
                app_commands.Command(name="link", description="Use your moodmix web account in Discord",
                                     callback=link)]

    async def _genre_choices(self, interaction: discord.Interaction,
                             current: str) -> list[app_commands.Choice[str]]:
        catalog = await self.core.catalog()
        cap = catalog.capabilities.get(interaction.command.name) if interaction.command else None
        return [app_commands.Choice(name=label, value=name)
                for label, name in catalog.match_genre_choices(current, cap)]

    async def help_text(self) -> str:
        lines = await self.core.actions_help(audio_syntax="/{name} file{genre}",
                                             prompt_syntax="/{name} prompt [duration]")
        return _clip("🎧 **moodmix** — attach a track to a command:\n" + "\n".join(lines)
                     + "\n/jobs — your recent jobs\n/genres — the genres\n/cancel — stop your running job"
                     + "\n/link code — use your moodmix web account here")

    async def genres_text(self) -> str:
        return _clip("\n".join(await self.core.genres_lines()) or "No genres yet.")

    async def _ephemeral_answer(self, interaction: discord.Interaction, make_text) -> None:
        chat = chat_ref(interaction.user)
        try:
            self.core.hit(chat)
            text = await make_text(chat)
        except MoodmixError as exc:
            text = f"⚠️ {exc.message}"
        await interaction.response.send_message(_clip(text), ephemeral=True)

    # ---- flows ---------------------------------------------------------------------------------------
    async def track(self, interaction: discord.Interaction, capability: str, file: discord.Attachment,
                    genre: str | None, *, takes_genre: bool, preview: bool = False) -> None:
        chat = chat_ref(interaction.user)
        try:
            self.core.hit(chat)
            if not looks_like_audio(file.filename, file.content_type):
                raise BadInput(f"“{file.filename}” is not an audio file; attach an mp3, wav, flac, ogg or "
                               "m4a track", code="not_audio")
            self.core.check_input_size(file.size)
            if genre:
                catalog = await self.core.catalog()
                genre = catalog.resolve_genre(genre, catalog.capability(capability))
            if genre or not takes_genre:
                self.core.check_can_start(chat)
        except MoodmixError as exc:
            await interaction.response.send_message(f"⚠️ {exc.message}", ephemeral=True)
            return
        await interaction.response.defer(thinking=True)
        try:
            with self.core.workspace() as wd:
                path = wd / (Path(file.filename).name or "track")
                await file.save(path)
                record = await self.core.upload(chat, file.filename, path)
            ticket = self.core.tickets.add(chat, record["id"], record["filename"])
            if takes_genre and not genre:
                catalog = await self.core.catalog()
                await interaction.edit_original_response(
                    content=f"🎵 {record['filename']} ({record['duration']:.1f} s) — pick a genre:",
                    view=GenreView(self, ticket, capability, catalog.genre_names(catalog.capability(capability))))
                return
            await self.run_and_deliver(StatusMessage(interaction, token_safe_s=self.token_safe_s), chat,
                                       capability, ticket=ticket, genre=genre, preview=preview)
        except MoodmixError as exc:
            await self.fail_after_defer(interaction, exc)

    async def prompt(self, interaction: discord.Interaction, capability: str, prompt: str,
                     params: dict) -> None:
        chat = chat_ref(interaction.user)
        try:
            self.core.hit(chat)
            self.core.check_can_start(chat)
            await self.core.build_request(capability, params=params)
        except MoodmixError as exc:
            await interaction.response.send_message(f"⚠️ {exc.message}", ephemeral=True)
            return
        await interaction.response.defer(thinking=True)
        try:
            await self.run_and_deliver(StatusMessage(interaction, token_safe_s=self.token_safe_s), chat,
                                       capability, prompt=prompt, params=params)
        except MoodmixError as exc:
            await self.fail_after_defer(interaction, exc)

    async def _start_checks(self, interaction: discord.Interaction, key: str, claim: str) -> Ticket | None:
        """The ticket if this press may start work; else the press is answered (ephemeral) and ``None``."""
        chat = chat_ref(interaction.user)
        try:
            ticket = self.core.tickets.get(key, chat)
        except MoodmixError as exc:
            await interaction.response.send_message(f"⚠️ {exc.message}", ephemeral=True)
            return None
        if not self.core.claim(claim):  # a double click: acknowledged, nothing started twice
            await interaction.response.send_message("⏳ Already on it — the first press is being worked on.",
                                                    ephemeral=True)
            return None
        try:
            self.core.hit(chat)
            self.core.check_can_start(chat)
        except MoodmixError as exc:
            self.core.release(claim)
            await interaction.response.send_message(f"⚠️ {exc.message}", ephemeral=True)
            return None
        return ticket

    async def genre_pressed(self, interaction: discord.Interaction, key: str, capability: str, genre: str) -> None:
        """A genre under an upload: the preview (when offered) replaces the buttons' message."""
        ticket = await self._start_checks(interaction, key, f"{key}:{capability}:{genre}:preview")
        if ticket is None:
            return
        chat = chat_ref(interaction.user)
        await interaction.response.edit_message(
            content=f"⏳ {capability} ({genre}) for {ticket.filename}: starting…", view=None)
        status = StatusMessage(interaction, token_safe_s=self.token_safe_s)
        try:
            await self.run_and_deliver(status, chat, capability, ticket=ticket, genre=genre, preview=True)
        except MoodmixError as exc:
            self.core.release(f"{key}:{capability}:{genre}:preview")
            await status.edit(content=f"❌ {capability} ({genre}) did not run: {exc.message}")

    async def run_pressed(self, interaction: discord.Interaction, key: str, capability: str, genre: str | None,
                          *, mode: str) -> None:
        """A button under a result (full track, a split): a new message follows that job."""
        claim = f"{key}:{capability}:{genre}:{mode}"
        ticket = await self._start_checks(interaction, key, claim)
        if ticket is None:
            return
        chat = chat_ref(interaction.user)
        await interaction.response.defer(thinking=True)
        status = StatusMessage(interaction, token_safe_s=self.token_safe_s)
        try:
            await self.run_and_deliver(status, chat, capability, ticket=ticket, genre=genre, preview=False)
        except MoodmixError as exc:
            self.core.release(claim)
            await status.edit(content=f"❌ {capability} did not run: {exc.message}")

    async def another_genre(self, interaction: discord.Interaction, key: str, capability: str) -> None:
        chat = chat_ref(interaction.user)
        try:
            ticket = self.core.tickets.get(key, chat)
            self.core.hit(chat)
        except MoodmixError as exc:
            await interaction.response.send_message(f"⚠️ {exc.message}", ephemeral=True)
            return
        catalog = await self.core.catalog()
        await interaction.response.send_message(
            f"🎵 {ticket.filename} — pick another genre:",
            view=GenreView(self, ticket, capability, catalog.genre_names(catalog.capability(capability))))

    async def run_and_deliver(self, status: StatusMessage, chat: ChatRef, capability: str, *,
                              ticket: Ticket | None = None, preview: bool = False, **request) -> None:
        async def show(text: str) -> None:
            await status.edit(content=_clip(text))

        if ticket is not None:
            request["file_id"] = ticket.file_id
        job = await self.core.run(chat, capability, on_progress=show, preview=preview, **request)
        if job["status"] != "succeeded":
            return
        view = await self._next_view(ticket, capability, request.get("genre"), job)
        await self.deliver(status, chat, job, view=view)

    async def _next_view(self, ticket: Ticket | None, capability: str, genre: str | None,
                         job: dict) -> discord.ui.View | None:
        """Buttons under a preview; none under anything else."""
        data = (job.get("result") or {}).get("data") or {}
        if ticket is None or not data.get("preview"):
            return None
        catalog = await self.core.catalog()
        return NextView(self, ticket, capability, genre, [c["name"] for c in catalog.split_actions()])

    async def deliver(self, status: StatusMessage, chat: ChatRef, job: dict, *,
                      view: discord.ui.View | None = None) -> None:
        """Post the result: files in requests that fit (count and total size), else download links."""
        limit = status.interaction.filesize_limit
        with self.core.workspace() as wd:
            delivery = await self.core.deliver(chat, job, wd, limit_bytes=limit, max_files=ATTACHMENTS_MAX)
            batches = delivery.batches(limit, ATTACHMENTS_MAX)
            try:
                for i, batch in enumerate(batches or [[]]):
                    files = [discord.File(f.path, filename=f.filename, description=f.title) for f in batch]
                    try:
                        if i == 0:
                            await status.edit(content=_clip(delivery.full_text()), attachments=files, view=view)
                        else:
                            await status.send(files=files)
                    finally:
                        for f in files:
                            f.close()
                return
            except discord.HTTPException as exc:
                log.warning("sending the result of job %s failed (%s %s); sending links", job["id"],
                            exc.status, exc.code)
        links = await all_links(self.core.backend, chat, job, self.core.public_url)
        await status.edit(content=_clip(links_text(summarize(job), links)), attachments=[], view=view)

    async def fail_after_defer(self, interaction: discord.Interaction, exc: MoodmixError) -> None:
        """Replace the public 'thinking…' message by an ephemeral explanation."""
        try:
            await interaction.delete_original_response()
        except discord.HTTPException:
            log.debug("could not delete the deferred response")
        try:
            await interaction.followup.send(f"⚠️ {exc.message}", ephemeral=True)
        except discord.HTTPException:
            log.warning("could not tell %s: %s", interaction.user, exc.message)

    async def on_tree_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        log.error("discord command failed: %s", error, exc_info=error)
        await self.tell_unexpected(interaction)

    async def tell_unexpected(self, interaction: discord.Interaction) -> None:
        """A bug or an outage: say so instead of leaving 'thinking…' or 'starting…' forever."""
        text = "⚠️ something went wrong on my side; please try again in a minute."
        try:
            if interaction.response.is_done():
                await interaction.edit_original_response(content=text, view=None)
            else:
                await interaction.response.send_message(text, ephemeral=True)
        except discord.HTTPException:
            pass


class MoodmixDiscordClient(discord.Client):
    """A client whose command tree is built from the engine's capabilities at login."""

    def __init__(self, core: BotCore, *, sync_commands: bool = True, token_safe_s: float = TOKEN_SAFE_S) -> None:
        super().__init__(intents=discord.Intents(guilds=True))  # slash commands need no privileged intent
        self.core = core
        self.handlers = DiscordBot(core, token_safe_s=token_safe_s)
        self.tree = app_commands.CommandTree(self)
        self.sync_commands = sync_commands
        self.command_names: list[str] = []

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        """A press on one of our buttons that no live view took (the bot restarted, the view timed
        out): answer it anyway, so Discord never shows 'This interaction failed'."""
        custom_id = (interaction.data or {}).get("custom_id", "") if interaction.data else ""
        if interaction.type != discord.InteractionType.component or not custom_id.startswith("mm:"):
            return
        await asyncio.sleep(UNANSWERED_AFTER_S)
        if not interaction.response.is_done():
            with contextlib.suppress(discord.HTTPException):
                await interaction.response.send_message(
                    "⚠️ these buttons have expired; send the track again.", ephemeral=True)

    async def setup_hook(self) -> None:
        catalog = await self.core.catalog()
        self.command_names = self.handlers.register(self.tree, catalog)
        if self.sync_commands:
            await self.tree.sync()
        log.info("discord commands: %s", ", ".join(self.command_names))
