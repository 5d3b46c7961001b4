#!/usr/bin/env python3
"""Writes the image_check fuzz target's seeds (fuzz/seeds/image_check/): small valid images in
every accepted format and the variants the check treats differently (alpha, grey, 16-bit,
palette, interlaced, progressive, EXIF orientation, lossy and lossless WebP), each under 2 KB.

Needs Pillow (pip install pillow); the seeds are committed, so this runs only to change them.
"""
import io
import os

from PIL import Image

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "seeds", "image_check")


def picture(mode, size=(12, 8)):
    img = Image.new("RGBA", size)
    for y in range(size[1]):
        for x in range(size[0]):
            img.putpixel((x, y), (x * 20 % 256, y * 30 % 256, (x + y) * 10 % 256, 255 if x % 3 else 80))
    return img.convert(mode)


def save(name, img, fmt, **kw):
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    data = buf.getvalue()
    assert len(data) < 2048, (name, len(data))
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


def main():
    os.makedirs(OUT, exist_ok=True)
    save("rgb.png", picture("RGB"), "PNG")
    save("rgba-signature.png", picture("RGBA"), "PNG")
    save("grey.png", picture("L"), "PNG")
    save("grey-alpha.png", picture("LA"), "PNG")
    save("palette.png", picture("P"), "PNG")
    save("interlaced.png", picture("RGB"), "PNG", interlace=1)
    save("grey-16bit.png", picture("L").convert("I;16"), "PNG")
    save("baseline.jpg", picture("RGB"), "JPEG", quality=70)
    save("progressive.jpg", picture("RGB"), "JPEG", quality=70, progressive=True)
    save("grey.jpg", picture("L"), "JPEG", quality=70)
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90
    save("exif-rotated.jpg", picture("RGB", (16, 6)), "JPEG", quality=60, exif=exif.tobytes())
    save("lossy.webp", picture("RGB"), "WEBP", quality=60)
    save("lossless-alpha.webp", picture("RGBA"), "WEBP", lossless=True)


if __name__ == "__main__":
    main()
