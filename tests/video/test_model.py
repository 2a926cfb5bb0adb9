"""Pure pieces: playlist parsing, key handling, file names, the ffmpeg command."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from liveshop.video import model
from liveshop.video.packager import (
    ffmpeg_command,
    flv_header,
    flv_tag,
    webm_has_h264,
    webm_header_end,
)


def test_first_program_date_time_reads_ffmpeg_offsets() -> None:
    playlist = ("#EXTM3U\n#EXTINF:1.0,\n#EXT-X-PROGRAM-DATE-TIME:2026-05-01T10:00:01.250+0000"
                "\ns0.ts\n#EXT-X-PROGRAM-DATE-TIME:2026-05-01T10:00:02.250+0000\ns1.ts\n")
    assert model.first_program_date_time(playlist) == datetime(2026, 5, 1, 10, 0, 1, 250000,
                                                               tzinfo=UTC)
    assert model.first_program_date_time("#EXTM3U\n") is None


def test_endlist_is_added_once() -> None:
    once = model.with_endlist("#EXTM3U\ns0.ts\n")
    assert once.endswith("s0.ts\n#EXT-X-ENDLIST\n")
    assert model.with_endlist(once) == once


def test_keys_and_names() -> None:
    assert len(model.new_stream_key()) >= 24
    assert model.stream_key_of("abc?token=1") == "abc"
    for good in ("index.m3u8", "s12.ts", "720p_3.ts", "init-1.m4s"):
        assert model.SAFE_FILE.fullmatch(good)
    for bad in ("../index.m3u8", "a.b.ts", "index.m3u8.tmp", "ffmpeg.log", ".ts", "a/b.ts"):
        assert not model.SAFE_FILE.fullmatch(bad)


def test_flv_framing() -> None:
    assert flv_header(audio=True)[:5] == b"FLV\x01\x05"
    assert flv_header(audio=False)[4] == 0x01
    tag = flv_tag(9, 0x01020304, b"\x17\x01payload")
    assert tag[0] == 9 and tag[4:8] == b"\x02\x03\x04\x01"
    assert int.from_bytes(tag[-4:], "big") == len(tag) - 4


def test_webm_header_detection() -> None:
    header = b"\x1a\x45\xdf\xa3....V_MPEG4/ISO/AVC...."
    data = header + b"\x1f\x43\xb6\x75cluster"
    assert webm_header_end(data) == len(header)
    assert webm_has_h264(header) and not webm_has_h264(b"\x1a\x45\xdf\xa3V_VP8")


def test_command_copies_h264_and_writes_both_playlists(tmp_path: Path) -> None:
    command = ffmpeg_command("ffmpeg", tmp_path, "flv", copy_video=True, copy_audio=True)
    assert command[command.index("-c:v") + 1] == "copy"
    tee = command[-1]
    assert "hls_list_size=6" in tee and "hls_list_size=0" in tee
    assert "delete_segments" in tee and "hls_playlist_type=event" in tee
    assert tee.count("program_date_time") == 2 and tee.count("append_list") == 2
    encoded = ffmpeg_command("ffmpeg", tmp_path, "webm", copy_video=False, copy_audio=False)
    assert "libx264" in encoded and "aac" in encoded and "-force_key_frames" in encoded
    ladder = ffmpeg_command("ffmpeg", tmp_path, "flv", copy_video=True, copy_audio=True,
                            ladder=True)
    assert ladder[ladder.index("-master_pl_name") + 1] == "index.m3u8"
    assert "v:0,a:0,name:720p v:1,a:1,name:360p" in ladder
