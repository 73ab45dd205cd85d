"""Telegram front end (python-telegram-bot 22, async).

Send audio, a voice note or an audio document → an inline keyboard of actions and
genres → one message edited with progress → results with ``send_audio`` (stems one by
one or zipped), pictures with ``send_photo``. Commands: /start /help /jobs /link and
one per engine capability (``/generate prompt``, ``/mood`` as a reply to a track …).
"""

from __future__ import annotations

import contextlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from telegram import (
    Audio,
    BotCommand,
    Document,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
    User,
    Voice,
)
from telegram.error import BadRequest, TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from moodmix.bots.backend import ChatRef
from moodmix.bots.catalog import Catalog
from moodmix.bots.core import BotCore, looks_like_audio
from moodmix.bots.delivery import Delivery, all_links, links_text, summarize
from moodmix.bots.settings import TelegramLimits
from moodmix.engine.errors import MoodmixError

log = logging.getLogger("moodmix.bots.telegram")

MB = 1024 * 1024
CALLBACK_DATA_MAX = 64
GENRE_BUTTONS_PER_ROW = 3
#: A trailing length in seconds: "… 20", "… | 20" or "… duration=20" (but "the 80s" is a prompt).
DURATION_RE = re.compile(r"(?:\|\s*|duration=|\s)(\d{1,3}(?:\.\d+)?)\s*$")
#: Formats Telegram plays inline as audio; others are re-encoded to MP3.
PLAYABLE = ("mp3", "m4a")


def chat_ref(user: User) -> ChatRef:
    return ChatRef("telegram", str(user.id), user.full_name)


@dataclass(frozen=True)
class PendingAction:
    """A command that waits for the user's next track (``/mood`` sent without a track)."""

    capability: str
    genre: str | None = None


def _attachment(message: Message | None) -> Audio | Voice | Document | None:
    if message is None:
        return None
    return message.audio or message.voice or message.document


def _filename(att: Audio | Voice | Document) -> str:
    name = getattr(att, "file_name", None)
    if name:
        return name
    if isinstance(att, Voice):
        return "voice.ogg"
    mime = (att.mime_type or "").split("/")[-1] or "mp3"
    return f"track.{'mp3' if mime == 'mpeg' else mime}"


def split_duration(text: str) -> tuple[str, float | None]:
    """``("calm piano", 20.0)`` from ``"calm piano 20"``; the duration is ``None`` when not given."""
    match = DURATION_RE.search(text)
    if not match:
        return text.strip(), None
    return text[: match.start()].strip(), float(match.group(1))


def keyboard(catalog: Catalog, ticket_key: str) -> InlineKeyboardMarkup:
    """Buttons for every track action; genre-taking actions get one button per genre."""
    rows: list[list[InlineKeyboardButton]] = []
    plain: list[InlineKeyboardButton] = []
    for cap in sorted(catalog.track_actions(), key=lambda c: c["name"]):
        name = cap["name"]
        emoji = (cap.get("ui") or {}).get("emoji", "🎵")
        if catalog.takes_genre(cap):
            datas = [(genre, f"g:{ticket_key}:{name}:{genre}") for genre in catalog.genre_names(cap)]
            buttons = [InlineKeyboardButton(f"{emoji} {genre}", callback_data=data) for genre, data in datas
                       if len(data.encode()) <= CALLBACK_DATA_MAX]
            rows += [buttons[i:i + GENRE_BUTTONS_PER_ROW] for i in range(0, len(buttons), GENRE_BUTTONS_PER_ROW)]
            continue
        plain.append(InlineKeyboardButton(f"{emoji} {name}", callback_data=f"a:{ticket_key}:{name}"))
        if len(catalog.audio_outputs(cap)) > 1:
            plain.append(InlineKeyboardButton(f"📦 {name} (zip)", callback_data=f"z:{ticket_key}:{name}"))
    rows = [plain[i:i + 3] for i in range(0, len(plain), 3)] + rows
    return InlineKeyboardMarkup(rows)


def next_keyboard(catalog: Catalog, ticket_key: str, capability: str, genre: str | None) -> InlineKeyboardMarkup:
    """Under a preview: the full track, another genre, and each split action (stems) of the same upload."""
    row = [InlineKeyboardButton("▶ Full track", callback_data=f"f:{ticket_key}:{capability}:{genre or ''}"[:64]),
           InlineKeyboardButton("🎛 Another genre", callback_data=f"n:{ticket_key}:{capability}")]
    splits = [InlineKeyboardButton(f"🎚 {c['name']}", callback_data=f"a:{ticket_key}:{c['name']}")
              for c in catalog.split_actions()]
    return InlineKeyboardMarkup([row, splits[:3]] if splits else [row])


def genre_keyboard(catalog: Catalog, ticket_key: str, capability: str) -> InlineKeyboardMarkup:
    cap = catalog.capability(capability)
    emoji = (cap.get("ui") or {}).get("emoji", "🎵")
    buttons = [InlineKeyboardButton(f"{emoji} {g}", callback_data=f"g:{ticket_key}:{capability}:{g}")
               for g in catalog.genre_names(cap) if len(f"g:{ticket_key}:{capability}:{g}".encode()) <= 64]
    return InlineKeyboardMarkup([buttons[i:i + GENRE_BUTTONS_PER_ROW]
                                 for i in range(0, len(buttons), GENRE_BUTTONS_PER_ROW)])


class TelegramBot:
    """Handlers bound to one :class:`BotCore`; :meth:`install` adds them to an Application."""

    def __init__(self, core: BotCore, limits: TelegramLimits | None = None) -> None:
        self.core = core
        self.limits = limits or TelegramLimits()
        self.pending: dict[str, PendingAction] = {}

    def install(self, app: Application) -> None:
        app.add_handler(CommandHandler(["start", "help"], self.on_help))
        app.add_handler(CommandHandler("jobs", self.on_jobs))
        app.add_handler(CommandHandler("genres", self.on_genres))
        app.add_handler(CommandHandler("cancel", self.on_cancel))
        app.add_handler(CommandHandler("link", self.on_link))
        app.add_handler(MessageHandler(filters.COMMAND, self.on_action_command))
        app.add_handler(MessageHandler(filters.AUDIO | filters.VOICE | filters.Document.ALL, self.on_file))
        app.add_handler(CallbackQueryHandler(self.on_button))
        app.add_error_handler(self.on_error)

    async def bot_commands(self) -> list[BotCommand]:
        """The command menu shown by Telegram clients, from the engine's capabilities."""
        catalog = await self.core.catalog()
        commands = [BotCommand("help", "What this bot can do"), BotCommand("jobs", "Your recent jobs"),
                    BotCommand("genres", "The genres, one line each"), BotCommand("cancel", "Stop your running job"),
                    BotCommand("link", "Link this chat to your moodmix web account: /link CODE")]
        for cap in catalog.track_actions() + catalog.prompt_actions():
            commands.append(BotCommand(cap["name"], catalog.short_description(cap, 256)))
        return commands

    # ---- simple commands ---------------------------------------------------------------------------
    async def on_help(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        lines = await self.core.actions_help(audio_syntax="/{name}{genre} (then send a track)",
                                             prompt_syntax="/{name} <prompt> [seconds]")
        text = ("🎧 moodmix — send me a track (audio, voice note or audio file, up to "
                f"{self.limits.download_bytes // MB} MB) and pick "
                "what to do with it.\n\n" + "\n".join(lines)
                + "\n\n/jobs — your recent jobs\n/genres — the genres\n/cancel — stop your running job"
                + "\n/link CODE — use your moodmix web account here")
        await update.effective_message.reply_text(text[:4096])

    async def on_genres(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat = chat_ref(update.effective_user)
        await self._guard(update.effective_message, self._reply(chat, update.effective_message, self._genres_text))

    async def on_cancel(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat = chat_ref(update.effective_user)
        await self._guard(update.effective_message, self._reply(chat, update.effective_message, self.core.cancel))

    async def _genres_text(self, chat: ChatRef) -> str:
        return "\n".join(await self.core.genres_lines()) or "No genres yet."

    async def _reply(self, chat: ChatRef, message: Message, make_text) -> None:
        self.core.hit(chat)
        await message.reply_text((await make_text(chat))[:4096])

    async def on_jobs(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat = chat_ref(update.effective_user)
        await self._guard(update.effective_message, self._reply_jobs(chat, update.effective_message))

    async def _reply_jobs(self, chat: ChatRef, message: Message) -> None:
        self.core.hit(chat)
        await message.reply_text(await self.core.jobs_text(chat))

    async def on_link(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat = chat_ref(update.effective_user)
        code = " ".join(context.args or [])
        await self._guard(update.effective_message, self._reply_link(chat, code, update.effective_message))

    async def _reply_link(self, chat: ChatRef, code: str, message: Message) -> None:
        self.core.hit(chat)
        await message.reply_text(await self.core.link(chat, code))

    # ---- capability commands ---------------------------------------------------------------------------
    async def on_action_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        await self._guard(message, self._action_command(chat_ref(update.effective_user), message))

    async def _action_command(self, chat: ChatRef, message: Message) -> None:
        head, _, rest = (message.text or "").partition(" ")
        name = head.lstrip("/").split("@", 1)[0].lower()
        rest = rest.strip()
        catalog = await self.core.catalog()
        self.core.hit(chat)
        if name in {c["name"] for c in catalog.prompt_actions()}:
            await self._prompt_command(chat, message, catalog, name, rest)
            return
        if name not in {c["name"] for c in catalog.track_actions()}:
            await message.reply_text(f"I don't know /{name}. Send /help for what I can do.")
            return
        cap = catalog.capability(name)
        genre = catalog.resolve_genre(rest, cap) if rest and catalog.takes_genre(cap) else None
        replied = _attachment(message.reply_to_message)
        if replied is not None:
            await self._ingest_and_run(chat, message, replied, PendingAction(name, genre))
            return
        self.pending[chat.key] = PendingAction(name, genre)
        what = name + (f" ({genre})" if genre else "")
        await message.reply_text(f"Send me the track for {what} (audio, voice note or audio file, up to "
                                 f"{self.limits.download_bytes // MB} MB).")

    async def _prompt_command(self, chat: ChatRef, message: Message, catalog: Catalog, name: str,
                              rest: str) -> None:
        cap = catalog.capability(name)
        params: dict = {}
        if "duration" in catalog.asked_params(cap):
            rest, duration = split_duration(rest)
            if duration is not None:
                params["duration"] = duration
        if not rest:
            await message.reply_text(f"Tell me what to make: /{name} calm piano with rain 20")
            return
        self.core.check_can_start(chat)
        status = await message.reply_text(f"⏳ {name}: starting…")
        await self._run_and_deliver(chat, status, name, prompt=rest, params=params)

    # ---- files -------------------------------------------------------------------------------------
    async def on_file(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        chat = chat_ref(update.effective_user)
        att = _attachment(message)
        if att is None:
            return
        await self._guard(message, self._ingest_and_run(chat, message, att, self.pending.get(chat.key)))

    async def _ingest_and_run(self, chat: ChatRef, message: Message, att: Audio | Voice | Document,
                              action: PendingAction | None) -> None:
        self.core.hit(chat)
        filename = _filename(att)
        if isinstance(att, Document) and not looks_like_audio(filename, att.mime_type):
            await message.reply_text(f"“{filename}” is not an audio file. Send a track as mp3, wav, flac, "
                                     "ogg or m4a (as audio, voice note or file).")
            return
        if att.file_size and att.file_size > self.limits.download_bytes:
            await message.reply_text(
                f"“{filename}” is {att.file_size / MB:.1f} MB, but Telegram lets bots download at most "
                f"{self.limits.download_bytes // MB} MB. Send a shorter clip or a compressed mp3, or upload it on the "
                f"web page ({self.core.public_url}).")
            return
        self.core.check_input_size(att.file_size)
        if action is not None:
            self.core.check_can_start(chat)
            self.pending.pop(chat.key, None)  # only a usable track consumes the waiting command
        status = await message.reply_text(f"📥 receiving {filename}…")
        with self.core.workspace() as wd:
            path = wd / "incoming" / Path(filename).name
            path.parent.mkdir(parents=True, exist_ok=True)
            tg_file = await att.get_file()
            await tg_file.download_to_drive(path)
            try:
                record = await self.core.upload(chat, filename, path)
            except MoodmixError as exc:
                await _edit(status, f"⚠️ I can't use “{filename}”: {exc.message}")
                return
        if action is not None:
            await self._run_and_deliver(chat, status, action.capability, file_id=record["id"],
                                        genre=action.genre)
            return
        ticket = self.core.tickets.add(chat, record["id"], record["filename"])
        catalog = await self.core.catalog()
        await _edit(status, f"🎵 {record['filename']} ({record['duration']:.1f} s) — what should I do?",
                    reply_markup=keyboard(catalog, ticket.key))

    # ---- buttons -----------------------------------------------------------------------------------
    async def on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """``g`` genre (a preview first), ``f`` full track, ``a`` action, ``z`` zipped, ``n`` another genre."""
        query = update.callback_query
        chat = chat_ref(query.from_user)
        kind, _, rest = (query.data or "").partition(":")
        key, _, rest = rest.partition(":")
        capability, _, genre = rest.partition(":")
        claim = f"{key}:{capability}:{genre}:{kind}"
        try:
            ticket = self.core.tickets.get(key, chat)
            self.core.hit(chat)
            if kind == "n":
                catalog = await self.core.catalog()
                await query.answer()
                await query.message.reply_text(f"🎵 {ticket.filename} — pick another genre:",
                                               reply_markup=genre_keyboard(catalog, key, capability))
                return
            if not self.core.claim(claim):  # a double tap: answered, nothing started twice
                await query.answer("already on it")
                return
            try:
                self.core.check_can_start(chat)
                await self.core.build_request(capability, genre=genre or None)
            except MoodmixError:
                self.core.release(claim)
                raise
        except MoodmixError as exc:
            await query.answer(exc.message, show_alert=True)
            return
        await query.answer(f"starting {capability}…")
        label = f"⏳ {capability}{f' ({genre})' if genre else ''} for {ticket.filename}: starting…"
        status = query.message  # the menu (under the upload, or under a preview) becomes the status
        await _edit(status, label)
        try:
            await self._guard(status, self._run_and_deliver(chat, status, capability, file_id=ticket.file_id,
                                                            genre=genre or None, bundle=kind == "z",
                                                            preview=kind == "g", ticket_key=key))
        finally:
            if kind == "g":
                self.core.release(claim)  # the preview is done: pressing again later re-renders it

    # ---- running and answering ---------------------------------------------------------------------
    async def _run_and_deliver(self, chat: ChatRef, status: Message, capability: str, *,
                               file_id: str | None = None, prompt: str | None = None,
                               genre: str | None = None, params: dict | None = None,
                               bundle: bool = False, preview: bool = False, ticket_key: str | None = None) -> None:
        async def show(text: str) -> None:
            await _edit(status, text)

        job = await self.core.run(chat, capability, on_progress=show, file_id=file_id, prompt=prompt,
                                  genre=genre, params=params, preview=preview)
        if job["status"] != "succeeded":
            return
        markup = None
        if ticket_key and ((job.get("result") or {}).get("data") or {}).get("preview"):
            markup = next_keyboard(await self.core.catalog(), ticket_key, capability, genre)
        with self.core.workspace() as wd:
            delivery = await self.core.deliver(chat, job, wd, limit_bytes=self.limits.upload_bytes,
                                               audio_formats=PLAYABLE, bundle_audio=bundle)
            try:
                await _edit(status, delivery.full_text())
                await send_delivery(status, delivery)
            except TelegramError as exc:  # refused upload, network: the result is still there
                log.warning("sending the result of job %s failed: %s; sending links", job["id"], exc)
                links = await all_links(self.core.backend, chat, job, self.core.public_url)
                await _edit(status, links_text(summarize(job), links))
        if markup is not None:
            await status.reply_text("Like it?", reply_markup=markup)

    async def _guard(self, message: Message, work) -> None:
        """Run ``work``; a MoodmixError becomes a reply that says what to do."""
        try:
            await work
        except MoodmixError as exc:
            await message.reply_text(f"⚠️ {exc.message}")

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.error("telegram handler failed: %s", context.error, exc_info=context.error)
        if isinstance(update, Update) and update.effective_message is not None:
            with contextlib.suppress(TelegramError):
                await update.effective_message.reply_text("⚠️ something went wrong on my side; please try again.")


async def _edit(message: Message, text: str, **kwargs) -> None:
    try:
        await message.edit_text(text, **kwargs)
    except BadRequest as exc:  # "message is not modified" and friends are harmless here
        log.debug("edit skipped: %s", exc)


async def send_delivery(anchor: Message, delivery: Delivery) -> None:
    """Post the files of a delivery into ``anchor``'s chat, as replies to it."""
    for item in delivery.files:
        with item.path.open("rb") as fh:
            if item.kind == "image":
                await anchor.reply_photo(fh, caption=item.title, filename=item.filename)
            elif item.kind == "audio":
                await anchor.reply_audio(fh, title=item.title, filename=item.filename)
            else:
                await anchor.reply_document(fh, filename=item.filename, caption=item.title)


def build_application(core: BotCore, token: str, *, base_url: str | None = None,
                      base_file_url: str | None = None, limits: TelegramLimits | None = None,
                      local_mode: bool = False) -> Application:
    """A ready Application; ``base_url``/``base_file_url`` point it at another Bot API server, whose
    file ``limits`` then apply (``local_mode``: a ``--local`` server hands files over by path)."""
    bot = TelegramBot(core, limits)

    async def post_init(app: Application) -> None:
        await core.catalog()
        with contextlib.suppress(TelegramError):
            await app.bot.set_my_commands(await bot.bot_commands())

    builder = Application.builder().token(token).concurrent_updates(True).post_init(post_init)
    if base_url:
        builder = builder.base_url(base_url)
    if base_file_url:
        builder = builder.base_file_url(base_file_url)
    if local_mode:
        builder = builder.local_mode(True)
    app = builder.build()
    bot.install(app)
    app.bot_data["moodmix"] = bot
    return app


async def start_application(app: Application, *, poll_timeout: float = 10.0) -> None:
    """Initialise, run ``post_init``, start handling and poll ``getUpdates`` (without blocking)."""
    await app.initialize()
    if app.post_init:
        await app.post_init(app)
    await app.start()
    await app.updater.start_polling(poll_interval=0.0, timeout=poll_timeout, drop_pending_updates=False)


async def stop_application(app: Application) -> None:
    if app.updater and app.updater.running:
        await app.updater.stop()
    if app.running:
        await app.stop()
    await app.shutdown()
