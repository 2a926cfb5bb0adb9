"""The video layer inside the app process: publish sessions, the RTMP server and the
supervisor that ends shows whose publisher did not come back.

Services are synchronous (SQLAlchemy); they run in threads so media never waits on the
database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from imageio_ffmpeg import get_ffmpeg_exe

from liveshop.accounts.model import Actor
from liveshop.core.config import Settings
from liveshop.core.db import Database
from liveshop.video import model, service
from liveshop.video.model import KIND_RECORDING, Publisher
from liveshop.video.packager import Packager, grab_poster
from liveshop.video.service import Grant

log = logging.getLogger("liveshop.video")

SUPERVISOR_SECONDS = 1.0
RETENTION_SWEEP_SECONDS = 3600.0
POSTER_SECONDS = 10.0
FIRST_SEGMENT_POLL_SECONDS = 0.2


@dataclass
class PublishSession:
    """One publisher of one show, from acceptance until it drops."""

    grant: Grant
    publisher: Publisher
    packager: Packager | None = None
    watcher: asyncio.Task[None] | None = None
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    # Set by the runtime to make the publisher's connection go away (the show ended).
    kick: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def show_id(self) -> int:
        return self.grant.show_id


class VideoRuntime:
    def __init__(self, settings: Settings, db: Database):
        self.settings = settings
        self.db = db
        self.ffmpeg = get_ffmpeg_exe()
        self.sessions: dict[int, PublishSession] = {}
        self.rtmp_port: int | None = None
        self._rtmp: asyncio.Server | None = None
        self._rtmp_connections: set[asyncio.Task[None]] = set()
        self._supervisor: asyncio.Task[None] | None = None

    # --- lifecycle ---

    async def start(self) -> None:
        if not self.settings.video_ingest:
            # A web-only process: it must not mark the ingest process's streams as dropped.
            return
        await asyncio.to_thread(service.recover_after_restart, self.db)
        self._supervisor = asyncio.create_task(self._supervise_forever(),
                                               name="video-supervisor")
        if self.settings.rtmp_port:
            from liveshop.video.rtmp import serve_rtmp

            try:
                self._rtmp = await serve_rtmp(self, self.settings.rtmp_host,
                                              self.settings.rtmp_port)
            except OSError as error:
                # Another process holds the port: the site still serves, without RTMP.
                log.error("RTMP ingest disabled: cannot listen on %s:%s (%s)",
                          self.settings.rtmp_host, self.settings.rtmp_port, error)
            else:
                self.rtmp_port = self._rtmp.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
        if self._rtmp is not None:
            self._rtmp.close()
        for task in list(self._rtmp_connections):
            task.cancel()
        await asyncio.gather(*self._rtmp_connections, return_exceptions=True)
        for session in list(self.sessions.values()):
            await self.close(session)

    def track_connection(self, task: asyncio.Task[None]) -> None:
        self._rtmp_connections.add(task)
        task.add_done_callback(self._rtmp_connections.discard)

    # --- publishing ---

    async def accept(self, publisher: Publisher, *, key: str | None = None,
                     show_id: int | None = None, actor: Actor | None = None
                     ) -> PublishSession:
        """Refuse (DomainError) or accept a publisher; no media has been read yet."""
        grant = await asyncio.to_thread(
            service.begin_publish, self.db, publisher, key=key, show_id=show_id, actor=actor)
        previous = self.sessions.get(grant.show_id)
        if previous is not None:
            # Cut off in the database (the show changed hands) before the supervisor got to
            # it: it goes now, before this publisher's packager writes the same files.
            await self._cut_off(previous)
        session = PublishSession(grant, publisher)
        self.sessions[grant.show_id] = session
        return session

    async def start_media(self, session: PublishSession, input_format: str, header: bytes, *,
                          copy_video: bool, copy_audio: bool) -> Packager:
        packager = Packager(self.ffmpeg, self.directory(session.show_id), input_format,
                            copy_video=copy_video, copy_audio=copy_audio,
                            ladder=self.settings.video_ladder)
        await packager.start(header)
        session.packager = packager
        session.watcher = asyncio.create_task(self._watch(session))
        return packager

    async def close(self, session: PublishSession, *, dropped: bool = True) -> None:
        """The publisher is gone: flush the packager, then tell the room (grace starts).
        ``dropped=False``: the database already says so (it may even have a new publisher)."""
        if session.closed.is_set():
            return
        session.closed.set()
        if session.watcher is not None:
            session.watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await session.watcher
        if session.packager is not None:
            await session.packager.close()
        if self.sessions.get(session.show_id) is session:
            del self.sessions[session.show_id]
        if dropped:
            await asyncio.to_thread(service.publisher_dropped, self.db, session.show_id)

    async def _cut_off(self, session: PublishSession) -> None:
        """Disconnect a publisher the database no longer has live."""
        session.kick.set()
        await self.close(session, dropped=False)

    def directory(self, show_id: int) -> Path:
        return model.show_dir(self.settings.media_dir, show_id)

    async def _watch(self, session: PublishSession) -> None:
        """Announce the video once the first new segment exists, then keep the poster fresh."""
        recording = self.directory(session.show_id) / KIND_RECORDING / model.PLAYLIST
        before = recording.stat().st_mtime_ns if recording.exists() else None
        while not recording.exists() or recording.stat().st_mtime_ns == before:
            await asyncio.sleep(FIRST_SEGMENT_POLL_SECONDS)
        await grab_poster(self.ffmpeg, self.directory(session.show_id))
        started = model.first_program_date_time(recording.read_text())
        await asyncio.to_thread(service.media_started, self.db, session.show_id, started)
        while True:
            await asyncio.sleep(POSTER_SECONDS)
            await grab_poster(self.ffmpeg, self.directory(session.show_id))

    # --- supervision ---

    async def _supervise_forever(self) -> None:
        retention_at = 0.0
        while True:
            try:
                await self.supervise_once()
                if time.monotonic() >= retention_at:
                    retention_at = time.monotonic() + RETENTION_SWEEP_SECONDS
                    await asyncio.to_thread(
                        service.delete_expired_recordings, self.db, self.settings.media_dir,
                        self.settings.recording_retention_days)
            except Exception:  # the database restarting must not stop supervision
                log.exception("video supervision failed")
            await asyncio.sleep(SUPERVISOR_SECONDS)

    async def supervise_once(self) -> None:
        publishing = dict(self.sessions)
        for show_id in await asyncio.to_thread(service.cut_off_sessions, self.db, publishing):
            if self.sessions.get(show_id) is publishing[show_id]:
                await self._cut_off(publishing[show_id])
        for show_id in await asyncio.to_thread(service.due_to_end, self.db,
                                               self.settings.video_grace_seconds):
            session = self.sessions.get(show_id)
            if session is not None:
                # Ended from the control room while publishing: stop the publisher first,
                # so ffmpeg cannot rewrite the playlists after ENDLIST.
                session.kick.set()
                await self.close(session)
            await asyncio.to_thread(service.finish, self.db, self.settings, show_id)
