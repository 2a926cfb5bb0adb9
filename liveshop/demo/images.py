"""Product pictures drawn with Pillow, so the demo needs no downloads or stock photos."""

from __future__ import annotations

import colorsys
import functools
import io
import random
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, ImageOps

SIZE = 800
BOLD_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
CONTENT_TYPE = "image/webp"


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    if BOLD_FONT.exists():
        return ImageFont.truetype(str(BOLD_FONT), size)
    return ImageFont.load_default(size=size)


def _rgb(hue: float, saturation: float, lightness: float) -> tuple[int, int, int]:
    red, green, blue = colorsys.hls_to_rgb(hue % 1.0, lightness, saturation)
    return round(red * 255), round(green * 255), round(blue * 255)


def _wrap(draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont,
          width: int) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        candidate = f"{lines[-1]} {word}" if lines else word
        if lines and draw.textlength(candidate, font=font) <= width:
            lines[-1] = candidate
        else:
            lines.append(word)
    return lines


def render(title: str, seed: int) -> Image.Image:
    """A diagonal two-colour gradient with soft circles and the title in large type."""
    rng = random.Random(seed)
    hue = rng.random()
    start = _rgb(hue, 0.65, 0.62)
    end = _rgb(hue + rng.uniform(0.08, 0.22), 0.7, 0.38)
    vertical = Image.linear_gradient("L")
    ramp = Image.blend(vertical, vertical.rotate(90), 0.5).resize((SIZE, SIZE))
    image = ImageOps.colorize(ramp, start, end).convert("RGBA")

    shapes = Image.new("RGBA", image.size, (0, 0, 0, 0))
    pen = ImageDraw.Draw(shapes)
    for _ in range(6):
        radius = rng.randint(60, 220)
        cx, cy = rng.randint(0, SIZE), rng.randint(0, SIZE)
        pen.ellipse((cx - radius, cy - radius, cx + radius, cy + radius),
                    fill=(255, 255, 255, rng.randint(18, 48)))
    image = Image.alpha_composite(image, shapes)

    draw = ImageDraw.Draw(image, "RGBA")
    font_size = 92
    while True:
        font = _font(font_size)
        lines = _wrap(draw, title, font, SIZE - 120)
        fits = all(draw.textlength(line, font=font) <= SIZE - 80 for line in lines)
        if (fits and len(lines) <= 3) or font_size <= 40:
            break
        font_size -= 8
    line_height = font_size * 1.2
    top = (SIZE - line_height * len(lines)) / 2
    for number, line in enumerate(lines):
        y = top + number * line_height
        draw.text((SIZE / 2 + 3, y + 4), line, font=font, fill=(0, 0, 0, 60), anchor="ma")
        draw.text((SIZE / 2, y), line, font=font, fill=(255, 255, 255, 255), anchor="ma")
    return image.convert("RGB")


@functools.lru_cache(maxsize=128)
def _encoded(title: str, seed: int) -> tuple[bytes, tuple[int, int]]:
    # A picture depends only on its title and seed: a process that seeds several databases
    # (the test suite does, per test) draws and encodes each one once.
    image = render(title, seed)
    buffer = io.BytesIO()
    image.save(buffer, "WEBP", quality=82, method=2)
    return buffer.getvalue(), image.size


def write(path: Path, title: str, seed: int) -> tuple[int, int]:
    """Draw and save the picture as WebP; returns (width, height)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data, size = _encoded(title, seed)
    path.write_bytes(data)
    return size
