"""Discord front end (discord.py 2, application commands).

One slash command per engine capability that works on a track (``/remix file genre`` with
genre autocomplete, ``/stems``, ``/mood``, ``/analyze`` …) or on a prompt
(``/generate prompt duration``), plus ``/jobs``, ``/help`` and ``/link``. Commands are
built from the engine's capability list at start-up. Work is deferred, then the original
response is edited with live progress and finally with the result files; mistakes get an
ephemeral message that says what to do.
"""

from __future__ import annotations

import logging
from pathlib import Path

import discord
from discord import app_commands

from moodmix.bots.backend import ChatRef
from moodmix.bots.catalog import Catalog
from moodmix.bots.core import BotCore, looks_like_audio
from moodmix.bots.tickets import Ticket
from moodmix.engine.errors import BadInput, MoodmixError

log = logging.getLogger("moodmix.bots.discord")

MESSAGE_MAX = 2000
ATTACHMENTS_MAX = 10
GENRE_BUTTONS_MAX = 25  # 5 rows of 5
VIEW_TIMEOUT_S = 900.0


def chat_ref(user: discord.abc.User) -> ChatRef:
    return ChatRef("discord", str(user.id), getattr(user, "display_name", None) or user.name)


def _clip(text: str) -> str:
    return text if len(text) <= MESSAGE_MAX else text[: MESSAGE_MAX - 1] + "…"


class GenreView(discord.ui.View):
    """Genre buttons under an uploaded track; only the uploader may press them."""

    def __init__(self, bot: DiscordBot, ticket: Ticket, capability: str, genres: list[str]) -> None:
        super().__init__(timeout=VIEW_TIMEOUT_S)
        self.bot = bot
        self.ticket = ticket
        self.capability = capability
        for genre in genres[:GENRE_BUTTONS_MAX]:
            button: discord.ui.Button = discord.ui.Button(
                label=genre, style=discord.ButtonStyle.primary,
                custom_id=f"mm:{ticket.key}:{capability}:{genre}"[:100])
            button.callback = self._make_callback(genre)
            self.add_item(button)

    def _make_callback(self, genre: str):
        async def pressed(interaction: discord.Interaction) -> None:
            await self.bot.genre_pressed(interaction, self.ticket.key, self.capability, genre, view=self)

        return pressed

    async def on_error(self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item) -> None:
        log.error("genre button failed: %s", error, exc_info=error)
        await self.bot.tell_unexpected(interaction)

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if str(interaction.user.id) == self.ticket.chat.user_id:
            return True
        await interaction.response.send_message(
            "These buttons belong to someone else's upload — run the command with your own track.",
            ephemeral=True)
        return False


class DiscordBot:
    """The handlers, bound to one :class:`BotCore`; :meth:`register` builds the command tree."""

    def __init__(self, core: BotCore) -> None:
        self.core = core

    # ---- commands from the catalog -----------------------------------------------------------------
    def register(self, tree: app_commands.CommandTree, catalog: Catalog) -> list[str]:
        """Add one command per usable capability, plus /jobs /help /link; returns the names."""
        for cap in sorted(catalog.track_actions(), key=lambda c: c["name"]):
            tree.add_command(self._track_command(cap, catalog.takes_genre(cap)))
        for cap in sorted(catalog.prompt_actions(), key=lambda c: c["name"]):
            tree.add_command(self._prompt_command(cap, "duration" in catalog.asked_params(cap)))
        for command in self._fixed_commands():
            tree.add_command(command)
        tree.on_error = self.on_tree_error
        return [c.name for c in tree.get_commands()]

    def _track_command(self, cap: dict, takes_genre: bool) -> app_commands.Command:
        name = cap["name"]
        description = Catalog.short_description(cap)
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

        @app_commands.describe(code="The code shown on the moodmix web page")
        async def link(interaction: discord.Interaction, code: str) -> None:
            await self._ephemeral_answer(interaction, lambda chat: self.core.link(chat, code))

        return [app_commands.Command(name="jobs", description="Your recent moodmix jobs", callback=jobs),
                app_commands.Command(name="help", description="What this bot can do", callback=help_),
                app_commands.Command(name="link", description="Use your moodmix web account in Discord",
                                     callback=link)]

    async def _genre_choices(self, interaction: discord.Interaction,
                             current: str) -> list[app_commands.Choice[str]]:
        catalog = await self.core.catalog()
        cap = catalog.capabilities.get(interaction.command.name) if interaction.command else None
        return [app_commands.Choice(name=g, value=g) for g in catalog.match_genres(current, cap)]

    async def help_text(self) -> str:
        lines = await self.core.actions_help(audio_syntax="/{name} file{genre}",
                                             prompt_syntax="/{name} prompt [duration]")
        return _clip("🎧 **moodmix** — attach a track to a command:\n" + "\n".join(lines)
                     + "\n/jobs — your recent jobs\n/link code — use your moodmix web account here")

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
                    genre: str | None, *, takes_genre: bool) -> None:
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
            if takes_genre and not genre:
                ticket = self.core.tickets.add(chat, record["id"], record["filename"])
                catalog = await self.core.catalog()
                await interaction.edit_original_response(
                    content=f"🎵 {record['filename']} ({record['duration']:.1f} s) — pick a genre:",
                    view=GenreView(self, ticket, capability, catalog.genre_names(catalog.capability(capability))))
                return
            await self.run_and_deliver(interaction, chat, capability, file_id=record["id"], genre=genre)
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
            await self.run_and_deliver(interaction, chat, capability, prompt=prompt, params=params)
        except MoodmixError as exc:
            await self.fail_after_defer(interaction, exc)

    async def genre_pressed(self, interaction: discord.Interaction, key: str, capability: str, genre: str,
                            *, view: discord.ui.View | None = None) -> None:
        chat = chat_ref(interaction.user)
        try:
            ticket = self.core.tickets.get(key, chat)
            self.core.hit(chat)
            self.core.check_can_start(chat)
        except MoodmixError as exc:
            await interaction.response.send_message(f"⚠️ {exc.message}", ephemeral=True)
            return
        if view is not None:
            view.stop()
        await interaction.response.edit_message(
            content=f"⏳ {capability} ({genre}) for {ticket.filename}: starting…", view=None)
        try:
            await self.run_and_deliver(interaction, chat, capability, file_id=ticket.file_id, genre=genre)
        except MoodmixError as exc:
            await interaction.edit_original_response(content=f"❌ {capability} ({genre}) did not run")
            await interaction.followup.send(f"⚠️ {exc.message}", ephemeral=True)

    async def run_and_deliver(self, interaction: discord.Interaction, chat: ChatRef, capability: str,
                              **request) -> None:
        async def show(text: str) -> None:
            await interaction.edit_original_response(content=_clip(text))

        job = await self.core.run(chat, capability, on_progress=show, **request)
        if job["status"] != "succeeded":
            return
        with self.core.workspace() as wd:
            delivery = await self.core.deliver(chat, job, wd, limit_bytes=interaction.filesize_limit,
                                               max_files=ATTACHMENTS_MAX)
            files = [discord.File(f.path, filename=f.filename, description=f.title) for f in delivery.files]
            try:
                await interaction.edit_original_response(content=_clip(delivery.full_text()), attachments=files)
            finally:
                for f in files:
                    f.close()

    async def fail_after_defer(self, interaction: discord.Interaction, exc: MoodmixError) -> None:
        """Replace the public 'thinking…' message by an ephemeral explanation."""
        try:
            await interaction.delete_original_response()
        except discord.HTTPException:
            log.debug("could not delete the deferred response")
        await interaction.followup.send(f"⚠️ {exc.message}", ephemeral=True)

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

    def __init__(self, core: BotCore, *, sync_commands: bool = True) -> None:
        super().__init__(intents=discord.Intents(guilds=True))  # slash commands need no privileged intent
        self.core = core
        self.handlers = DiscordBot(core)
        self.tree = app_commands.CommandTree(self)
        self.sync_commands = sync_commands
        self.command_names: list[str] = []

    async def setup_hook(self) -> None:
        catalog = await self.core.catalog()
        self.command_names = self.handlers.register(self.tree, catalog)
        if self.sync_commands:
            await self.tree.sync()
        log.info("discord commands: %s", ", ".join(self.command_names))
