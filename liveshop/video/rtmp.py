"""RTMP ingest (OBS, phone apps, ffmpeg) inside the app process, built on pyrtmp's chunk
reader and messages.

``rtmp://HOST:PORT/live`` with the show's stream key as the stream name. The key is checked
in the database when the client asks to publish, before any media is accepted; a refusal is
an ``onStatus`` error (``NetStream.Publish.BadName``) and the connection is closed. Media
tags are re-wrapped as FLV and piped to the show's packager.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from typing import Any

from bitstring import BitStream
from pyrtmp import StreamClosedException
from pyrtmp.amf.serializers import AMF0Serializer
from pyrtmp.messages import Chunk, RawChunk
from pyrtmp.messages.audio import AudioMessage
from pyrtmp.messages.command import (
    CommandMessage,
    NCConnect,
    NCCreateStream,
    NSCloseStream,
    NSDeleteStream,
    NSPublish,
)
from pyrtmp.messages.factory import MessageFactory
from pyrtmp.messages.protocol_control import (
    SetChunkSize,
    SetPeerBandwidth,
    WindowAcknowledgementSize,
)
from pyrtmp.messages.user_control import StreamBegin
from pyrtmp.messages.video import VideoMessage
from pyrtmp.session_manager import SessionManager

from liveshop.core.errors import DomainError
from liveshop.video import model
from liveshop.video.model import Publisher
from liveshop.video.packager import (
    FLV,
    FLV_AAC,
    FLV_AUDIO_TAG,
    FLV_AVC,
    FLV_VIDEO_TAG,
    Packager,
    PackagerFailed,
    flv_header,
    flv_is_keyframe,
    flv_is_sequence_header,
    flv_tag,
)
from liveshop.video.runtime import PublishSession, VideoRuntime

log = logging.getLogger("liveshop.video")
# pyrtmp logs every message it does not know (FCPublish, ...) as a warning.
for _name in ("pyrtmp", "pyrtmp.messages", "pyrtmp.messages.command",
              "pyrtmp.messages.data", "pyrtmp.messages.user_control"):
    logging.getLogger(_name).setLevel(logging.ERROR)

HANDSHAKE_TIMEOUT_SECONDS = 10.0
OUR_CHUNK_SIZE = 8192


class _ChunkReader(SessionManager):
    """pyrtmp's reader gives a new message sent with a type-3 header (same size and time
    delta as the previous one: ffmpeg does this for constant frame rates) the previous
    message's timestamp; the delta has to be added again."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        super().__init__(reader=reader, writer=writer)
        self._stamps: dict[int, int] = {}
        self._deltas: dict[int, int] = {}

    async def read_raw_chunk(self) -> RawChunk:
        chunk = await super().read_raw_chunk()
        stream = chunk.chunk_id
        if chunk.raw_chunk_number == 0:  # the first chunk of a message
            if chunk.chunk_type == 3 and stream in self._stamps:
                chunk.timestamp = self._stamps[stream] + self._deltas.get(stream, 0)
            elif chunk.chunk_type in (1, 2) and stream in self._stamps:
                self._deltas[stream] = chunk.timestamp - self._stamps[stream]
            self._stamps[stream] = chunk.timestamp
        return chunk


def _status(message: NSPublish, level: str, code: str, description: str) -> Chunk:
    data = BitStream()
    for value in ("onStatus", 0, None,
                  {"level": level, "code": code, "description": description}):
        AMF0Serializer.create_object(data, value)
    return Chunk(chunk_type=0, chunk_id=3, timestamp=0, msg_length=len(data.bytes),
                 msg_type_id=0x14, msg_stream_id=message.msg_stream_id, payload=data.bytes)


class RTMPConnection:
    def __init__(self, runtime: VideoRuntime, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter):
        self.runtime = runtime
        self.writer = writer
        self.session = _ChunkReader(reader, writer)
        self.publish: PublishSession | None = None
        self.packager: Packager | None = None
        self.sequence_headers: dict[int, bytes] = {}
        self.video_codec: int | None = None
        self.audio_format: int | None = None

    async def run(self) -> None:
        try:
            await asyncio.wait_for(self.session.handshake(), HANDSHAKE_TIMEOUT_SECONDS)
            async for chunk in self.session.read_chunks_from_stream():
                if self.publish is not None and self.publish.kick.is_set():
                    break
                try:
                    message = MessageFactory.from_chunk(chunk)
                except Exception:  # message types pyrtmp cannot parse are not ours either
                    continue
                if not await self.handle(message):
                    break
        except (StreamClosedException, ConnectionError, TimeoutError,
                asyncio.IncompleteReadError):
            pass
        except PackagerFailed:
            log.exception("packaging failed; disconnecting the RTMP publisher")
        except Exception:
            log.exception("RTMP connection failed")
        finally:
            if self.publish is not None:
                await _to_the_end(self.runtime.close(self.publish))
            self.writer.close()
            with contextlib.suppress(Exception):
                await self.writer.wait_closed()

    async def handle(self, message: Any) -> bool:
        """Act on one message; False ends the connection."""
        if isinstance(message, (VideoMessage, AudioMessage)):
            if self.publish is not None:
                kind = FLV_VIDEO_TAG if isinstance(message, VideoMessage) else FLV_AUDIO_TAG
                await self.media(kind, message.timestamp, message.payload)
        elif isinstance(message, SetChunkSize):
            self.session.reader_chunk_size = message.chunk_size
        elif isinstance(message, NCConnect):
            app = str((message.command_object or {}).get("app", "")).strip("/")
            if app != model.RTMP_APP:
                return False
            for reply in (WindowAcknowledgementSize(ack_window_size=5_000_000),
                          SetPeerBandwidth(ack_window_size=5_000_000, limit_type=2),
                          StreamBegin(stream_id=0), SetChunkSize(chunk_size=OUR_CHUNK_SIZE)):
                self.session.write_chunk_to_stream(reply)
            self.session.writer_chunk_size = OUR_CHUNK_SIZE
            self.session.write_chunk_to_stream(message.create_response())
            await self.session.drain()
        elif isinstance(message, NCCreateStream):
            self.session.write_chunk_to_stream(message.create_response())
            await self.session.drain()
        elif isinstance(message, NSPublish):
            return await self.on_publish(message)
        elif isinstance(message, (NSCloseStream, NSDeleteStream)) or (
                isinstance(message, CommandMessage) and message.command_name == "FCUnpublish"):
            return False
        return True

    async def on_publish(self, message: NSPublish) -> bool:
        if self.publish is not None:
            return True
        key = model.stream_key_of(str(message.publishing_name or ""))
        try:
            self.publish = await self.runtime.accept(Publisher.RTMP, key=key)
        except DomainError as refusal:
            self.session.write_chunk_to_stream(_status(
                message, "error", "NetStream.Publish.BadName", refusal.message))
            await self.session.drain()
            return False
        self.session.write_chunk_to_stream(StreamBegin(stream_id=1))
        self.session.write_chunk_to_stream(message.create_response())
        await self.session.drain()
        return True

    def _header(self) -> bytes:
        tags = [self.sequence_headers[kind] for kind in (FLV_VIDEO_TAG, FLV_AUDIO_TAG)
                if kind in self.sequence_headers]
        return flv_header(audio=self.audio_format is not None) + b"".join(tags)

    async def media(self, kind: int, timestamp: int, payload: bytes) -> None:
        if not payload:
            return
        if kind == FLV_VIDEO_TAG:
            self.video_codec = payload[0] & 0x0F
        else:
            self.audio_format = payload[0] >> 4
        if flv_is_sequence_header(kind, payload):
            self.sequence_headers[kind] = flv_tag(kind, 0, payload)
            if self.packager is not None:
                self.packager.header = self._header()  # what a restarted ffmpeg needs
        if self.packager is None:
            # ffmpeg starts on the first keyframe, once the codecs are known.
            if kind != FLV_VIDEO_TAG or not flv_is_keyframe(payload) or \
                    flv_is_sequence_header(kind, payload):
                return
            assert self.publish is not None
            self.packager = await self.runtime.start_media(
                self.publish, FLV, self._header(), copy_video=self.video_codec == FLV_AVC,
                copy_audio=self.audio_format in (None, FLV_AAC))
        await self.packager.write(flv_tag(kind, timestamp, payload))


async def _to_the_end(closing: Coroutine[Any, Any, None]) -> None:
    """Await ``closing`` to its end even if this task is cancelled meanwhile: shutdown
    cancels the connections (VideoRuntime.stop), perhaps while one is already flushing its
    packager, and ffmpeg must still write the last segment. The cancellation follows."""
    task = asyncio.ensure_future(closing)
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        await task
        raise


async def serve_rtmp(runtime: VideoRuntime, host: str, port: int) -> asyncio.Server:
    async def on_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            runtime.track_connection(task)
        try:
            await RTMPConnection(runtime, reader, writer).run()
        except asyncio.CancelledError:
            # Shutdown cancels the connection (VideoRuntime.stop) after its own clean-up
            # ran. A handler task left cancelled makes asyncio's start_server callback
            # (Python 3.11) print the cancellation as an error, so it ends here quietly.
            return

    return await asyncio.start_server(on_client, host, port)
