"""A small but well-formed DICOM Part 10 file per image id, for 16.1.4 (获取PACS影像dcm文件流)."""

from __future__ import annotations

import struct
import zlib


def _element(group: int, element: int, vr: bytes, value: bytes) -> bytes:
    if len(value) % 2:
        value += b"\x00" if vr in (b"UI", b"OB") else b" "
    if vr in (b"OB", b"OW", b"UN", b"SQ", b"UT"):
        return struct.pack("<HH2sHI", group, element, vr, 0, len(value)) + value
    return struct.pack("<HH2sH", group, element, vr, len(value)) + value


def dicom_bytes(*, dcm_id: str, patient_name: str, patient_id: str, study: str) -> bytes:
    """128-byte preamble, DICM, file meta and a tiny 64x64 8-bit greyscale image."""
    uid_suffix = str(zlib.crc32(dcm_id.encode()))
    sop_uid = f"1.2.826.0.1.3680043.8.498.{uid_suffix}".encode()
    meta_body = (
        _element(0x0002, 0x0001, b"OB", b"\x00\x01")
        + _element(0x0002, 0x0002, b"UI", b"1.2.840.10008.5.1.4.1.1.7")
        + _element(0x0002, 0x0003, b"UI", sop_uid)
        + _element(0x0002, 0x0010, b"UI", b"1.2.840.10008.1.2.1")
    )
    meta = _element(0x0002, 0x0000, b"UL", struct.pack("<I", len(meta_body))) + meta_body
    side = 64
    seed = zlib.crc32(dcm_id.encode())
    pixels = bytes(((x * y + seed) >> 3) & 0xFF for y in range(side) for x in range(side))
    dataset = (
        _element(0x0008, 0x0016, b"UI", b"1.2.840.10008.5.1.4.1.1.7")
        + _element(0x0008, 0x0018, b"UI", sop_uid)
        + _element(0x0008, 0x0060, b"CS", b"OT")
        + _element(0x0008, 0x1030, b"LO", study.encode("utf-8"))
        + _element(0x0010, 0x0010, b"PN", patient_name.encode("utf-8"))
        + _element(0x0010, 0x0020, b"LO", patient_id.encode())
        + _element(0x0028, 0x0002, b"US", struct.pack("<H", 1))
        + _element(0x0028, 0x0004, b"CS", b"MONOCHROME2")
        + _element(0x0028, 0x0010, b"US", struct.pack("<H", side))
        + _element(0x0028, 0x0011, b"US", struct.pack("<H", side))
        + _element(0x0028, 0x0100, b"US", struct.pack("<H", 8))
        + _element(0x0028, 0x0101, b"US", struct.pack("<H", 8))
        + _element(0x0028, 0x0102, b"US", struct.pack("<H", 7))
        + _element(0x0028, 0x0103, b"US", struct.pack("<H", 0))
        + _element(0x7FE0, 0x0010, b"OW", pixels)
    )
    return b"\x00" * 128 + b"DICM" + meta + dataset
