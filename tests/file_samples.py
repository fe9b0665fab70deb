"""Small real files made in the test run, so no binary fixture hides in the repository.

Audio is assembled from its container rules by hand (no encoder is needed): silent but valid
frames, with a duration known in advance.
"""

import io
import struct

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

GPS_IFD = 0x8825
ORIENTATION = 0x0112


def image_bytes(fmt="JPEG", size=(64, 48), orientation=None, gps=True, color=(200, 40, 40)):
    """An image with EXIF that names the camera and, unless told not to, where it was."""
    mode = "RGBA" if fmt == "PNG" else "RGB"
    image = Image.new(mode, size, color)
    # A dark top-left corner shows whether orientation was applied.
    image.paste((0, 0, 0), (0, 0, size[0] // 4, size[1] // 4))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0110] = "Model X"  # Model
    if orientation:
        exif[ORIENTATION] = orientation
    if gps:
        exif.get_ifd(GPS_IFD).update({1: "N", 2: (22.0, 9.0, 30.0), 3: "E", 4: (105.0, 21.0, 10.0)})
    out = io.BytesIO()
    image.save(out, fmt, exif=exif)
    return out.getvalue()


def pdf_bytes(text="Giay khai sinh"):
    """A one-page PDF with a correct cross-reference table."""
    stream = f"BT /F1 12 Tf 20 100 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def amr_nb_bytes(frames=150):
    """AMR-NB storage format, 12.2 kbit/s frames of 20 ms: `frames / 50` seconds."""
    toc = (7 << 3) | 0x04  # mode 7, quality bit set
    return b"#!AMR\n" + (bytes([toc]) + bytes(31)) * frames


def amr_wb_bytes(frames=100):
    """AMR-WB storage format, 23.85 kbit/s frames with a few NO_DATA frames in between."""
    speech = bytes([(8 << 3) | 0x04]) + bytes(60)
    no_data = bytes([(15 << 3) | 0x04])
    body = b"".join(no_data if i % 10 == 9 else speech for i in range(frames))
    return b"#!AMR-WB\n" + body


def mp3_bytes(frames=115):
    """MPEG-1 Layer III, 128 kbit/s, 44.1 kHz mono: silent frames of 1152 samples."""
    header = bytes([0xFF, 0xFB, 0x90, 0xC0])
    frame_length = 144 * 128000 // 44100  # 417, no padding
    return (header + bytes(frame_length - 4)) * frames


def adts_aac_bytes(frames=200):
    """AAC-LC in ADTS frames, 44.1 kHz mono, 1024 samples each."""
    payload = bytes(60)
    length = 7 + len(payload)
    header = bytes(
        [
            0xFF,
            0xF1,  # MPEG-4, layer 0, no CRC
            (1 << 6) | (4 << 2) | 0,  # AAC LC, 44.1 kHz, channel config high bit 0
            (1 << 6) | (length >> 11),  # mono
            (length >> 3) & 0xFF,
            ((length & 0x07) << 5) | 0x1F,
            0xFC,
        ]
    )
    return (header + payload) * frames


def _ogg_crc(data):
    crc = 0
    for byte in data:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
            crc &= 0xFFFFFFFF
    return crc


def _ogg_page(packets, granule, sequence, flags=0, serial=0x5EED):
    lacing = bytearray()
    for packet in packets:
        lacing += b"\xff" * (len(packet) // 255) + bytes([len(packet) % 255])
    header = struct.pack("<4sBBqIIIB", b"OggS", 0, flags, granule, serial, sequence, 0, len(lacing))
    page = bytearray(header + lacing + b"".join(packets))
    struct.pack_into("<I", page, 22, _ogg_crc(page))
    return bytes(page)


def opus_bytes(seconds=4):
    """Ogg Opus: 20 ms CELT silence packets, the granule position giving the length."""
    pre_skip = 312
    head = b"OpusHead" + struct.pack("<BBHIhB", 1, 1, pre_skip, 48000, 0, 0)
    vendor = b"tests"
    tags = b"OpusTags" + struct.pack("<I", len(vendor)) + vendor + struct.pack("<I", 0)
    silence = b"\xf8\xff\xfe"
    packets = [silence] * (seconds * 50)
    pages = [_ogg_page([head], 0, 0, flags=0x02), _ogg_page([tags], 0, 1)]
    sequence, done = 2, 0
    for start in range(0, len(packets), 50):
        chunk = packets[start : start + 50]
        done += len(chunk)
        last = done == len(packets)
        pages.append(_ogg_page(chunk, pre_skip + done * 960, sequence, flags=0x04 if last else 0))
        sequence += 1
    return b"".join(pages)


def _box(kind, *children):
    body = b"".join(children)
    return struct.pack(">I", 8 + len(body)) + kind + body


def _full_box(kind, version_flags, *children):
    return _box(kind, struct.pack(">I", version_flags), *children)


def m4a_bytes(seconds=3, handler=b"soun", brand=b"M4A "):
    """A minimal ISO media file with one AAC track of `seconds` (timescale 44100)."""
    timescale, duration = 44100, seconds * 44100
    samples = duration // 1024
    mvhd = _full_box(
        b"mvhd",
        0,
        struct.pack(">IIII", 0, 0, timescale, duration),
        struct.pack(">IH", 0x00010000, 0x0100) + bytes(10),
        struct.pack(">9I", 0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000),
        bytes(24),
        struct.pack(">I", 2),
    )
    tkhd = _full_box(
        b"tkhd",
        7,
        struct.pack(">IIIII", 0, 0, 1, 0, duration),
        bytes(8),
        struct.pack(">hhhH", 0, 0, 0x0100, 0),
        struct.pack(">9I", 0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000),
        struct.pack(">II", 0, 0),
    )
    mdhd = _full_box(b"mdhd", 0, struct.pack(">IIIIHH", 0, 0, timescale, duration, 0x55C4, 0))
    hdlr = _full_box(b"hdlr", 0, struct.pack(">I", 0), handler, bytes(12), b"Sound\x00")
    esds = _full_box(
        b"esds",
        0,
        bytes([0x03, 25, 0, 1, 0]),  # ES descriptor, id 1
        bytes([0x04, 17, 0x40, 0x15]) + bytes(3) + struct.pack(">II", 64000, 64000),
        bytes([0x05, 2, 0x12, 0x08]),  # AudioSpecificConfig: AAC LC, 44.1 kHz, mono
        bytes([0x06, 1, 0x02]),
    )
    mp4a = _box(
        b"mp4a",
        bytes(6),
        struct.pack(">H", 1),
        bytes(8),
        struct.pack(">HHHHI", 1, 16, 0, 0, timescale << 16),
        esds,
    )
    stbl = _box(
        b"stbl",
        _full_box(b"stsd", 0, struct.pack(">I", 1), mp4a),
        _full_box(b"stts", 0, struct.pack(">III", 1, samples, 1024)),
        _full_box(b"stsc", 0, struct.pack(">IIII", 1, 1, samples, 1)),
        _full_box(b"stsz", 0, struct.pack(">II", 6, samples)),
        _full_box(b"stco", 0, struct.pack(">II", 1, 0)),
    )
    minf = _box(
        b"minf",
        _full_box(b"smhd", 0, bytes(4)),
        _box(b"dinf", _full_box(b"dref", 0, struct.pack(">I", 1), _full_box(b"url ", 1))),
        stbl,
    )
    trak = _box(b"trak", tkhd, _box(b"mdia", mdhd, hdlr, minf))
    ftyp = _box(b"ftyp", brand, struct.pack(">I", 0), brand, b"isom")
    mdat = _box(b"mdat", bytes([0x21, 0x10, 0x04, 0x60, 0x8C, 0x1C]) * samples)
    return ftyp + _box(b"moov", mvhd, trak) + mdat


def upload(data, name="file.bin", content_type="application/octet-stream"):
    """What Django hands a view for one multipart file field."""
    return SimpleUploadedFile(name, data, content_type=content_type)
