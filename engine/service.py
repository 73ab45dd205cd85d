"""The service layer: every front end (REST API, CLI, bots) goes through this one facade.

Its parts live in :mod:`moodmix.engine.services`, one concern each (accounts and chat identities,
files, jobs, shares); the facade exposes their methods under the names front ends call and adds
the catalog (capabilities and genres). All lookups are scoped to the calling user: another
user's id is simply "not found". The engine returns ids, storage keys and tokens, never addresses.
"""

from __future__ import annotations

from moodmix.engine.errors import NotFound
from moodmix.engine.runtime import Runtime
from moodmix.engine.services.accounts import Accounts
from moodmix.engine.services.files import Files
from moodmix.engine.services.jobs import Jobs
from moodmix.engine.services.sessions import Sessions
from moodmix.engine.services.shares import Shares


class Service:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.accounts = Accounts(rt)
        self.sessions = Sessions(self.accounts)
        self.files = Files(rt)
        self.jobs = Jobs(rt, self.files)
        self.shares = Shares(rt, self.jobs)
        # The names front ends call, bound once (each part documents its own methods).
        self.register = self.accounts.register
        self.login = self.accounts.login
        self.authenticate = self.accounts.authenticate
        self.delete_account = self.accounts.delete_account
        self.end_all_tokens = self.accounts.end_all_tokens
        self.start_session = self.sessions.start
        self.start_session_for = self.sessions.start_for
        self.refresh_session = self.sessions.refresh
        self.end_session = self.sessions.end
        self.issue_token = self.accounts.issue_token
        self.user_for_token = self.accounts.user_for_token
        self.check_service_token = self.accounts.check_service_token
        self.get_user = self.accounts.get_user
        self.chat_user = self.accounts.chat_user
        self.create_link_code = self.accounts.create_link_code
        self.link_chat_identity = self.accounts.link_chat_identity
        self.upload = self.files.upload
        self.list_files = self.files.list_files
        self.get_file = self.files.get_file
        self.file_download = self.files.file_download
        self.delete_file = self.files.delete_file
        self.file_rendition = self.files.file_rendition
        self.file_peaks = self.files.file_peaks
        self.rendition = self.files.rendition
        self.peaks = self.files.peaks
        self.create_job = self.jobs.create_job
        self.get_job = self.jobs.get_job
        self.list_jobs = self.jobs.list_jobs
        self.cancel_job = self.jobs.cancel_job
        self.job_outputs = self.jobs.job_outputs
        self.output_download = self.jobs.output_download
        self.media_token = self.shares.media_token
        self.open_media = self.shares.open_media
        self.create_share = self.shares.create_share
        self.list_shares = self.shares.list_shares
        self.revoke_share = self.shares.revoke_share
        self.open_share = self.shares.open_share

    @property
    def settings(self):
        return self.rt.settings

    async def close(self) -> None:
        """Release what the service holds beside the runtime (the token-state listener and connections)."""
        await self.accounts.token_state.close()

    # ---- capabilities ---------------------------------------------------------------------------
    def capabilities(self) -> list[dict]:
        return [cap.describe() for _, cap in sorted(self.rt.registry.capabilities.items())]

    def genres(self, genre_set: str | None = None) -> list[dict]:
        """Every genre with its set, or only those of ``genre_set`` (a set no one declares is a 404)."""
        reg = self.rt.registry
        if genre_set is not None:
            declared = {s for c in reg.capabilities.values() for s in c.genre_params.values()}
            if genre_set not in reg.genre_sets and genre_set not in declared:
                known = ", ".join(sorted(set(reg.genre_sets) | declared)) or "none"
                raise NotFound(f"unknown genre set {genre_set!r}; sets: {known}", code="unknown_genre_set")
        sets = [genre_set] if genre_set is not None else sorted(reg.genre_sets)
        return [{"name": g.name, "description": g.description, "aliases": list(g.aliases), "set": g.set}
                for s in sets for _, g in sorted(reg.genres_in(s).items())]
