"""Platform-neutral pieces: limits, progress text, catalog, tickets, transcoding, runner checks."""

from __future__ import annotations

import pytest

from moodmix.bots.backend import ChatRef
from moodmix.bots.catalog import Catalog
from moodmix.bots.limits import BotLimits, Busy, ChatLimiter, LimitReached
from moodmix.bots.progress import ThrottledText, progress_text
from moodmix.bots.runner import platforms_to_run
from moodmix.bots.settings import load_bot_settings
from moodmix.bots.tickets import TicketBook
from moodmix.bots.transcode import fit_audio
from moodmix.engine import audio_io
from moodmix.engine.config import load_settings
from moodmix.engine.errors import BadInput, Forbidden, NotFound


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_request_rate_and_job_quotas():
    clock = Clock()
    limiter = ChatLimiter(BotLimits(requests_per_minute=2, jobs_per_hour=2, jobs_per_day=3), clock=clock)
    limiter.hit("a")
    limiter.hit("a")
    with pytest.raises(LimitReached, match="2 requests a minute"):
        limiter.hit("a")
    limiter.hit("b")  # other users are not affected
    clock.now += 61
    limiter.hit("a")
    for _ in range(2):
        with limiter.job_slot("a"):
            pass
    with pytest.raises(LimitReached, match="2 jobs an hour"):
        limiter.check_job("a")
    clock.now += 3601
    with limiter.job_slot("a"):
        pass
    with pytest.raises(LimitReached, match="3 jobs a day"):
        limiter.check_job("a")


def test_one_job_at_a_time_and_slot_released_on_error():
    limiter = ChatLimiter(BotLimits(jobs_at_once=1))
    with limiter.job_slot("a"):
        with pytest.raises(Busy, match="already have a job running"):
            limiter.check_job("a")
        limiter.check_job("b")
    with pytest.raises(RuntimeError), limiter.job_slot("a"):
        raise RuntimeError("job failed")
    assert limiter.active("a") == 0


def test_limits_from_env():
    assert BotLimits.from_env({"MOODMIX_BOT_JOBS_PER_HOUR": "5"}).jobs_per_hour == 5
    with pytest.raises(ValueError, match="MOODMIX_BOT_JOBS_AT_ONCE"):
        BotLimits.from_env({"MOODMIX_BOT_JOBS_AT_ONCE": "many"})


def test_progress_text_and_throttling():
    running = {"capability": "remix", "status": "running", "progress": 40.0, "message": "mastering"}
    assert progress_text(running) == "⚙️ remix 40% ████░░░░░░ — mastering"
    failed = {"capability": "stems", "status": "failed", "error": {"message": "too short"}}
    assert progress_text(failed) == "❌ stems failed: too short"
    assert "queue" in progress_text({"capability": "mood", "status": "queued"})
    waiting = {"capability": "stems", "status": "queued", "queue_position": 3, "eta_s": {"low": 38.2, "high": 61.0}}
    assert progress_text(waiting) == "⏳ stems: 3rd in line, about 40–60 s"
    assert progress_text({**waiting, "queue_position": 11, "eta_s": {"low": 200, "high": 420}}).endswith(
        "11th in line, about 3–7 min")
    assert progress_text({**waiting, "queue_position": 1, "eta_s": None}) == "⏳ stems: 1st in line"


async def test_throttled_text_skips_repeats_and_bursts():
    clock = Clock()
    sent: list[str] = []

    async def send(text: str) -> None:
        sent.append(text)

    throttle = ThrottledText(send, min_interval=2.0, clock=clock)
    assert await throttle.update("a")
    assert not await throttle.update("a")
    assert not await throttle.update("b")  # too soon
    assert await throttle.update("c", force=True)
    clock.now += 3
    assert await throttle.update("d")
    assert sent == ["a", "c", "d"]


async def test_catalog_from_the_engine(core):
    catalog = await core.catalog()
    tracks = {c["name"] for c in catalog.track_actions()}
    prompts = {c["name"] for c in catalog.prompt_actions()}
    assert {"analyze", "stems", "remix", "mood"} <= tracks
    assert "generate" in prompts and "generate" not in tracks
    assert catalog.takes_genre(catalog.capability("remix"))
    assert not catalog.takes_genre(catalog.capability("stems"))
    assert len(catalog.audio_outputs(catalog.capability("stems"))) > 1
    assert catalog.genre_names() == [g["name"] for g in core.backend.service.genres()]
    remix, generate = catalog.capability("remix"), catalog.capability("generate")
    genres = catalog.genre_names(remix)  # exactly the set remix's genre parameter takes
    assert genres == [g["name"] for g in core.backend.service.genres("remix")]
    assert catalog.genre_names(generate) == [g["name"] for g in core.backend.service.genres("generate")]
    assert "drum-and-bass" in genres and "drum-and-bass" not in catalog.genre_names(generate)
    some = catalog.genres_for(remix)[0]
    if some["aliases"]:
        assert catalog.resolve_genre(some["aliases"][0].upper(), remix) == some["name"]
    assert catalog.resolve_genre(f" {some['name'].upper()} ", remix) == some["name"]
    with pytest.raises(BadInput, match="unknown genre 'polka'; choose one of: "):
        catalog.resolve_genre("polka", remix)
    with pytest.raises(BadInput, match="unknown genre 'nightcore'"):
        catalog.resolve_genre("nightcore", generate)
    assert catalog.match_genres(some["name"][:3], remix) and set(catalog.match_genres("", remix)) == set(genres)
    # Advanced parameters are never asked for in chat.
    assert "duration" in catalog.asked_params(generate) and "top_k" not in catalog.asked_params(generate)


def test_catalog_ignores_capabilities_chat_cannot_drive():
    catalog = Catalog(capabilities={
        "mix2": {"name": "mix2", "inputs": [{"name": "a", "kind": "audio", "required": True},
                                            {"name": "b", "kind": "audio", "required": True}]},
        "Bad Name": {"name": "Bad Name", "inputs": [{"name": "a", "kind": "audio", "required": True}]},
    })
    assert catalog.track_actions() == [] and catalog.prompt_actions() == []


def test_tickets_belong_to_their_uploader():
    clock = Clock()
    book = TicketBook(capacity=2, ttl=60, clock=clock)
    ann, bob = ChatRef("telegram", "1"), ChatRef("telegram", "2")
    ticket = book.add(ann, "file-1", "a.wav")
    assert book.get(ticket.key, ann).file_id == "file-1"
    with pytest.raises(Forbidden, match="someone else's upload"):
        book.get(ticket.key, bob)
    clock.now += 61
    with pytest.raises(NotFound, match="expired"):
        book.get(ticket.key, ann)
    keys = [book.add(ann, f"f{i}", "x.wav").key for i in range(3)]
    with pytest.raises(NotFound):
        book.get(keys[0], ann)  # pushed out by capacity


def test_fit_audio_keeps_transcodes_or_gives_up(demo_track, tmp_path):
    size = demo_track.stat().st_size
    assert fit_audio(demo_track, size, tmp_path) == demo_track
    smaller = fit_audio(demo_track, 60_000, tmp_path)
    assert smaller is not None and smaller.suffix == ".mp3" and smaller.stat().st_size <= 60_000
    info = audio_io.probe(smaller)
    assert info.format == "mp3" and abs(info.duration - 4.0) < 0.3
    assert fit_audio(demo_track, size, tmp_path / "mp3", keep_formats=("mp3",)).suffix == ".mp3"
    assert fit_audio(demo_track, 5_000, tmp_path / "tiny") is None


def test_runner_refuses_without_tokens():
    empty = load_bot_settings(environ={})
    with pytest.raises(ValueError, match=r"MOODMIX_TELEGRAM_TOKEN.*BotFather"):
        platforms_to_run(empty, "telegram")
    with pytest.raises(ValueError, match=r"MOODMIX_DISCORD_TOKEN.*discord\.com/developers"):
        platforms_to_run(empty, "discord")
    with pytest.raises(ValueError, match="no bot token is configured"):
        platforms_to_run(empty, "all")
    only_tg = load_bot_settings(environ={"MOODMIX_TELEGRAM_TOKEN": "1:abc"})
    assert platforms_to_run(only_tg, "all") == ["telegram"]


def test_run_bots_needs_service_token_for_remote_api():
    from moodmix.bots.runner import run_bots

    bots = load_bot_settings(environ={"MOODMIX_TELEGRAM_TOKEN": "1:abc", "MOODMIX_BOT_API_URL": "http://x"})
    with pytest.raises(ValueError, match="MOODMIX_BOT_SERVICE_TOKEN"):
        run_bots(load_settings(environ={}), "telegram", bots)


def test_telegram_prompt_duration_parsing():
    from moodmix.bots.telegram_bot import split_duration

    assert split_duration("calm piano with rain 20") == ("calm piano with rain", 20.0)
    assert split_duration("calm piano | 7.5") == ("calm piano", 7.5)
    assert split_duration("calm piano duration=12") == ("calm piano", 12.0)
    assert split_duration("synth pop from the 80s") == ("synth pop from the 80s", None)
    assert split_duration("tribute to 1975") == ("tribute to 1975", None)
