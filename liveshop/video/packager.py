"""One ffmpeg per publishing show: FLV (RTMP) or WebM (browser) in on stdin, HLS out.

Both playlists are written through the tee muxer from one decode/encode: the live playlist
(1 s segments, the last 6 kept) and the recording (an EVENT playlist keeping every segment).
``append_list`` lets a new ffmpeg (after a reconnect, or a crash while the publisher is still
connected) continue the same playlists after a discontinuity; ``omit_endlist`` leaves the
end of the show to the app (``service.finish``), since a publisher dropping is not the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
import time
from collections import deque
from pathlib import Path

from liveshop.video import model
from liveshop.video.model import KIND_LIVE, KIND_RECORDING

log = logging.getLogger("liveshop.video")

FLV = "flv"
WEBM = "webm"
SEGMENT_SECONDS = 1
LIVE_SEGMENTS = 6
# A publisher whose stream keeps killing ffmpeg is refused rather than restarted forever.
MAX_RESTARTS = 5
RESTART_WINDOW_SECONDS = 60.0
CLOSE_TIMEOUT_SECONDS = 10.0
POSTER_TIMEOUT_SECONDS = 10.0
MATROSKA_CLUSTER = b"\x1f\x43\xb6\x75"
EBML_MAGIC = b"\x1a\x45\xdf\xa3"
FLV_VIDEO_TAG = 9
FLV_AUDIO_TAG = 8
FLV_AVC = 7
FLV_AAC = 10
LADDER = ((720, "2800k"), (360, "800k"))


class PackagerFailed(Exception):
    """ffmpeg cannot package this stream (it keeps exiting)."""


# --- FLV (what the RTMP ingest writes) ---


def flv_header(audio: bool, video: bool = True) -> bytes:
    flags = (0x04 if audio else 0) | (0x01 if video else 0)
    return b"FLV\x01" + bytes([flags]) + struct.pack(">I", 9) + struct.pack(">I", 0)


def flv_tag(tag_type: int, timestamp: int, payload: bytes) -> bytes:
    size = len(payload)
    header = (bytes([tag_type]) + size.to_bytes(3, "big")
              + (timestamp & 0xFFFFFF).to_bytes(3, "big") + bytes([(timestamp >> 24) & 0xFF])
              + b"\x00\x00\x00")
    return header + payload + struct.pack(">I", 11 + size)


def flv_is_keyframe(payload: bytes) -> bool:
    return bool(payload) and payload[0] >> 4 == 1


def flv_is_sequence_header(tag_type: int, payload: bytes) -> bool:
    """AVC decoder configuration / AAC AudioSpecificConfig: every decoder needs them first."""
    if len(payload) < 2:
        return False
    if tag_type == FLV_VIDEO_TAG:
        return payload[0] & 0x0F == FLV_AVC and payload[1] == 0
    return payload[0] >> 4 == FLV_AAC and payload[1] == 0


def _flv_resume_at(data: bytes) -> int:
    """A new ffmpeg may start on a video keyframe tag (one tag per write)."""
    return 0 if len(data) > 11 and data[0] == FLV_VIDEO_TAG and flv_is_keyframe(data[11:]) else -1


# --- WebM (what the browser's MediaRecorder sends) ---


def webm_header_end(data: bytes) -> int:
    """Where the first Cluster starts: everything before it is the stream's header."""
    return data.find(MATROSKA_CLUSTER)


def _webm_resume_at(data: bytes) -> int:
    return data.find(MATROSKA_CLUSTER)


def webm_has_h264(header: bytes) -> bool:
    return b"V_MPEG4/ISO/AVC" in header


# --- the ffmpeg command ---


def _hls_options(kind_dir: Path, *, live: bool, name: str = "s") -> str:
    flags = ["program_date_time", "independent_segments", "append_list", "omit_endlist"]
    options = ["f=hls", f"hls_time={SEGMENT_SECONDS}"]
    if live:
        flags.insert(0, "delete_segments")
        options.append(f"hls_list_size={LIVE_SEGMENTS}")
    else:
        options += ["hls_list_size=0", "hls_playlist_type=event"]
    options += [f"hls_flags={'+'.join(flags)}",
                f"hls_segment_filename={kind_dir / name}%d.ts"]
    return ":".join(options)


def _video_encoder() -> list[str]:
    return ["libx264", "-preset", "veryfast", "-tune", "zerolatency", "-pix_fmt", "yuv420p",
            # A keyframe every second so every 1 s segment can start playback.
            "-force_key_frames", f"expr:gte(t,n_forced*{SEGMENT_SECONDS})",
            "-sc_threshold", "0"]


def _bitrate(bitrate: str, stream: str = "") -> list[str]:
    return [f"-b:v{stream}", bitrate, f"-maxrate:v{stream}", bitrate,
            f"-bufsize:v{stream}", bitrate]


def ffmpeg_command(ffmpeg: str, directory: Path, input_format: str, *, copy_video: bool,
                   copy_audio: bool, ladder: bool = False) -> list[str]:
    live_dir, recording_dir = directory / KIND_LIVE, directory / KIND_RECORDING
    command = [ffmpeg, "-hide_banner", "-loglevel", "error",
               "-f", "flv" if input_format == FLV else "matroska", "-i", "pipe:0"]
    video = ["copy"] if copy_video else [*_video_encoder(), *_bitrate("2500k")]
    audio = ["copy"] if copy_audio else ["aac", "-b:a", "128k", "-ar", "48000"]
    if not ladder:
        return [
            *command, "-map", "0:v:0", "-map", "0:a:0?", "-c:v", *video, "-c:a", *audio,
            "-f", "tee", "-use_fifo", "0",
            f"[{_hls_options(live_dir, live=True)}]{live_dir / model.PLAYLIST}|"
            f"[{_hls_options(recording_dir, live=False)}]{recording_dir / model.PLAYLIST}",
        ]
    # Ladder: the live playlist becomes a master over re-encoded renditions; the recording
    # keeps the source rendition (copied when it can be).
    split = f"[0:v:0]split={len(LADDER)}" + "".join(f"[in{i}]" for i in range(len(LADDER)))
    scales = ";".join(f"[in{i}]scale=-2:{height}[out{i}]" for i, (height, _) in enumerate(LADDER))
    command += ["-filter_complex", f"{split};{scales}"]
    streams = []
    for index, (height, bitrate) in enumerate(LADDER):
        command += ["-map", f"[out{index}]", "-map", "0:a:0", *_bitrate(bitrate, f":{index}")]
        streams.append(f"v:{index},a:{index},name:{height}p")
    command += ["-c:v", *_video_encoder(), "-c:a", "aac", "-b:a", "128k", "-ar", "48000",
                "-f", "hls", "-hls_time", str(SEGMENT_SECONDS),
                "-hls_list_size", str(LIVE_SEGMENTS),
                "-hls_flags", "delete_segments+program_date_time+independent_segments"
                              "+append_list+omit_endlist",
                "-var_stream_map", " ".join(streams), "-master_pl_name", model.PLAYLIST,
                "-hls_segment_filename", str(live_dir / "%v_%d.ts"), str(live_dir / "%v.m3u8")]
    rec_options = _hls_options(recording_dir, live=False).split(":")
    command += ["-map", "0:v:0", "-map", "0:a:0?", "-c:v", *video, "-c:a", *audio]
    for option in rec_options:
        key, value = option.split("=", 1)
        command += [f"-{key}", value]
    command.append(str(recording_dir / model.PLAYLIST))
    return command


class Packager:
    """Feeds one show's ffmpeg; restarts it (same playlists) if it dies mid-stream."""

    def __init__(self, ffmpeg: str, directory: Path, input_format: str, *, copy_video: bool,
                 copy_audio: bool, ladder: bool = False):
        self.directory = directory
        self.input_format = input_format
        self.command = ffmpeg_command(ffmpeg, directory, input_format, copy_video=copy_video,
                                      copy_audio=copy_audio, ladder=ladder)
        self._resume_at = _flv_resume_at if input_format == FLV else _webm_resume_at
        self.header = b""
        self.process: asyncio.subprocess.Process | None = None
        self.restarts = 0
        self._restart_times: deque[float] = deque(maxlen=MAX_RESTARTS)
        self._waiting_for_resume = False
        self._closing = False

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    async def start(self, header: bytes) -> None:
        """``header`` begins every ffmpeg input (FLV header and sequence headers, or the
        WebM header up to its first cluster)."""
        self.header = header
        for kind in (KIND_LIVE, KIND_RECORDING):
            (self.directory / kind).mkdir(parents=True, exist_ok=True)
        await self._spawn()

    async def _spawn(self) -> None:
        with (self.directory / "ffmpeg.log").open("ab") as errors:
            self.process = await asyncio.create_subprocess_exec(
                *self.command, stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.DEVNULL, stderr=errors)
        await self._send(self.header)

    async def _send(self, data: bytes) -> None:
        assert self.process is not None and self.process.stdin is not None
        self.process.stdin.write(data)
        await self.process.stdin.drain()

    async def write(self, data: bytes) -> None:
        if self._closing:
            return
        if self.process is None or self.process.returncode is not None:
            await self._restart()
        if self._waiting_for_resume:
            start = self._resume_at(data)
            if start < 0:
                return
            data, self._waiting_for_resume = data[start:], False
        try:
            await self._send(data)
        except (BrokenPipeError, ConnectionResetError):
            await self._restart()

    async def _restart(self) -> None:
        """ffmpeg exited while the publisher is still sending: start another on the same
        playlists and feed it from the next point a decoder can start at."""
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
            await self.process.wait()
        now = time.monotonic()
        if (len(self._restart_times) == MAX_RESTARTS
                and now - self._restart_times[0] < RESTART_WINDOW_SECONDS):
            raise PackagerFailed(f"ffmpeg keeps exiting; see {self.directory / 'ffmpeg.log'}")
        self._restart_times.append(now)
        self.restarts += 1
        log.warning("restarting ffmpeg for %s", self.directory)
        await self._spawn()
        self._waiting_for_resume = True

    async def close(self) -> None:
        """End of input: ffmpeg writes the last segment and exits."""
        self._closing = True
        process = self.process
        if process is None or process.returncode is not None:
            return
        assert process.stdin is not None
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            process.stdin.close()
            await process.stdin.wait_closed()
        try:
            await asyncio.wait_for(process.wait(), CLOSE_TIMEOUT_SECONDS)
        except TimeoutError:
            process.kill()
            await process.wait()


def newest_segment(playlist: Path) -> Path | None:
    """The last complete segment a playlist lists (a segment on disk may still be growing)."""
    try:
        lines = playlist.read_text().splitlines()
    except FileNotFoundError:
        return None
    for line in reversed(lines):
        if line and not line.startswith("#"):
            return playlist.parent / line.rsplit("/", 1)[-1]
    return None


async def grab_poster(ffmpeg: str, directory: Path) -> bool:
    """One frame of the newest recorded segment to poster.jpg (replaced atomically)."""
    segment = newest_segment(directory / KIND_RECORDING / model.PLAYLIST)
    if segment is None or not segment.exists():
        return False
    temporary = directory / f"{model.POSTER}.tmp"
    process = await asyncio.create_subprocess_exec(
        ffmpeg, "-hide_banner", "-loglevel", "error", "-y", "-i", str(segment),
        "-frames:v", "1", "-vf", "scale=-2:'min(720,ih)'", "-q:v", "4", "-f", "mjpeg",
        str(temporary), stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL)
    try:
        code = await asyncio.wait_for(process.wait(), POSTER_TIMEOUT_SECONDS)
    except TimeoutError:
        process.kill()
        await process.wait()
        return False
    if code != 0 or not temporary.exists():
        return False
    temporary.replace(directory / model.POSTER)
    return True
