"""Mobile and Java archives: opened (nested, bounded), binary config decoded, located inside.

Every archive is built here with zipfile, plistlib and struct: an APK with its config in
``assets/config.json`` and a compiled manifest, an IPA with a binary ``Info.plist``, an
AAR holding a JAR, and zip bombs of each shape (ratio, depth, entry count).
"""

from __future__ import annotations

import io
import json
import plistlib
import struct
import zipfile
from pathlib import Path

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.cli import main
from conformance.scan import (
    ArchiveLimits,
    Artefact,
    Canary,
    Kind,
    SecretScanner,
    expanded,
    load_paths,
)
from conformance.scan.axml import BinaryXmlError, string_pools
from conformance.scan.crawl import crawl

from .test_secrets import leaks

CANARY_ARGS = ("--canary-env", "secret_key=ZP_SECRET_KEY", "--canary-env",
               "webhook_secret=ZP_WEBHOOK_SECRET")


def zipped(entries: dict[str, bytes], *, method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=method) as archive:
        for name, body in entries.items():
            archive.writestr(name, body)
    return buffer.getvalue()


def _len8(n: int) -> bytes:
    return bytes([n]) if n < 0x80 else bytes([0x80 | (n >> 8), n & 0xFF])


def string_pool(strings: list[str], *, utf8: bool) -> bytes:
    """A ResStringPool chunk (type 0x0001) holding ``strings``, as aapt2 writes one."""
    data = b""
    offsets = []
    for text in strings:
        offsets.append(len(data))
        if utf8:
            raw = text.encode("utf-8")
            data += _len8(len(text)) + _len8(len(raw)) + raw + b"\0"
        else:
            raw = text.encode("utf-16-le")
            units = len(raw) // 2
            head = (struct.pack("<H", units) if units < 0x8000
                    else struct.pack("<HH", 0x8000 | (units >> 16), units & 0xFFFF))
            data += head + raw + b"\0\0"
    data += b"\0" * (-len(data) % 4)
    start = 28 + 4 * len(strings)
    header = struct.pack("<HHIIIIII", 0x0001, 28, start + len(data), len(strings), 0,
                         0x100 if utf8 else 0, start, 0)
    return header + struct.pack(f"<{len(strings)}I", *offsets) + data


def binary_xml(strings: list[str], *, utf8: bool) -> bytes:
    """A compiled XML document: XML chunk, its string pool, one (empty) start-element chunk."""
    element = struct.pack("<HHI", 0x0102, 16, 36) + b"\xff" * 28
    body = string_pool(strings, utf8=utf8) + element
    return struct.pack("<HHI", 0x0003, 8, 8 + len(body)) + body


def manifest_strings(value: str) -> list[str]:
    return ["versionCode", "package", "android", "http://schemas.android.com/apk/res/android",
            "com.lumen.wallet", "meta-data", "name", "value", "zp.key", value, "manifest"]


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, canaries: tuple[Canary, Canary]) -> None:
    monkeypatch.setenv("ZP_SECRET_KEY", canaries[0].value)
    monkeypatch.setenv("ZP_WEBHOOK_SECRET", canaries[1].value)


@pytest.fixture
def apk(tmp_path: Path, canaries: tuple[Canary, Canary]) -> Path:
    config = json.dumps({"apiBase": "https://lumen.example/api", "poolId": "EUR-USDT",
                         "secretKey": canaries[0].value}, indent=2)
    path = tmp_path / "app.apk"
    path.write_bytes(zipped({
        "AndroidManifest.xml": binary_xml(manifest_strings("public"), utf8=False),
        "classes.dex": b"dex\n035\0" + bytes(range(256)) * 4,
        "assets/config.json": config.encode(),
        "res/layout/main.xml": binary_xml(["LinearLayout", "Get quote"], utf8=True),
    }))
    return path


@pytest.fixture
def ipa(tmp_path: Path, canaries: tuple[Canary, Canary]) -> Path:
    info = {"CFBundleIdentifier": "com.lumen.wallet", "CFBundleVersion": "42",
            # A non-ASCII string: a binary plist stores it as UTF-16, never as these bytes.
            "ZPConfig": {"note": "clé de production", "webhookSecret": canaries[1].value,
                         "label": "clé " + canaries[0].value}}
    path = tmp_path / "app.ipa"
    path.write_bytes(zipped({
        "Payload/Lumen.app/Info.plist": plistlib.dumps(info, fmt=plistlib.FMT_BINARY),
        "Payload/Lumen.app/Lumen": b"\xcf\xfa\xed\xfe" + b"\0" * 64,
    }))
    return path


def scan(paths: list[Path], canaries: tuple[Canary, ...],
         limits: ArchiveLimits | None = None) -> tuple[list[str], tuple[str, ...]]:
    collected = load_paths([str(p) for p in paths], archive_limits=limits)
    findings = SecretScanner(canaries).scan(collected.artefacts)
    return [f"{f.location} {f.canary}" for f in findings], collected.incomplete


# -- found, and located inside the archive --------------------------------------------------

def test_apk_config_json_is_found_at_its_path_inside(apk: Path,
                                                     canaries: tuple[Canary, Canary]) -> None:
    collected = load_paths([str(apk)])
    assert collected.complete
    findings = SecretScanner(canaries).scan(collected.artefacts)
    assert [(f.location, f.canary, f.line) for f in findings] == [
        (f"{apk.as_posix()}!/assets/config.json", "secret_key", 4)]
    kinds = {a.location.rpartition("!/")[2]: a.kind for a in collected.artefacts}
    assert kinds["assets/config.json"] is Kind.JSON
    assert collected.artefacts[0].kind is Kind.ARCHIVE  # read through its entries


def test_ipa_binary_info_plist_is_decoded(ipa: Path, canaries: tuple[Canary, Canary]) -> None:
    raw = ipa.read_bytes()
    plist = zipfile.ZipFile(io.BytesIO(raw)).read("Payload/Lumen.app/Info.plist")
    assert canaries[0].value.encode() not in plist  # stored as UTF-16: the bytes hide it
    collected = load_paths([str(ipa)])
    findings = SecretScanner(canaries).scan(collected.artefacts)
    where = f"{ipa.as_posix()}!/Payload/Lumen.app/Info.plist"
    assert sorted((f.location, f.canary) for f in findings) == [
        (where, "secret_key"), (where, "webhook_secret")]
    assert all("binary property list" in f.origin for f in findings)
    assert collected.complete


def test_nested_aar_jar_class(tmp_path: Path, canaries: tuple[Canary, Canary]) -> None:
    constant_pool = b"\xca\xfe\xba\xbe\0\0\0\x34\1\0" + bytes([len(canaries[0].value)])
    jar = zipped({"META-INF/MANIFEST.MF": b"Manifest-Version: 1.0\n",
                  "a/b/Config.class": constant_pool + canaries[0].value.encode() + b"\0\0"})
    aar = zipped({"AndroidManifest.xml": b"<manifest package='a.b'/>", "classes.jar": jar})
    (tmp_path / "outer.aar").write_bytes(aar)
    (tmp_path / "app.apk").write_bytes(zipped({"lib/sdk.aar": aar}, method=zipfile.ZIP_STORED))
    found, incomplete = scan([tmp_path / "outer.aar", tmp_path / "app.apk"], canaries)
    root = tmp_path.as_posix()
    assert found == [f"{root}/outer.aar!/classes.jar!/a/b/Config.class secret_key",
                     f"{root}/app.apk!/lib/sdk.aar!/classes.jar!/a/b/Config.class secret_key"]
    assert incomplete == ()


@pytest.mark.parametrize("utf8", [pytest.param(False, id="utf16-pool"),
                                  pytest.param(True, id="utf8-pool")])
def test_android_binary_xml_string_pool(tmp_path: Path, canaries: tuple[Canary, Canary],
                                        utf8: bool) -> None:
    strings = manifest_strings(canaries[0].value) + ["ü" * 200, "x" * 40000 if not utf8 else ""]
    document = binary_xml(strings, utf8=utf8)
    assert string_pools(document) == strings
    if not utf8:
        assert canaries[0].value.encode() not in document
    (tmp_path / "app.apk").write_bytes(zipped({"AndroidManifest.xml": document}))
    found, incomplete = scan([tmp_path / "app.apk"], canaries)
    assert found == [f"{tmp_path.as_posix()}/app.apk!/AndroidManifest.xml secret_key"]
    assert incomplete == ()


def test_resource_table_pools_are_decoded(canaries: tuple[Canary, Canary]) -> None:
    names = string_pool(["string", "zp_key"], utf8=False)
    package = struct.pack("<HHII", 0x0200, 12, 12 + len(names), 0x7F) + names
    body = string_pool(["Lumen", canaries[0].value], utf8=False) + package
    table = struct.pack("<HHII", 0x0002, 12, 12 + len(body), 1) + body
    assert string_pools(table) == ["Lumen", canaries[0].value, "string", "zp_key"]


def test_entry_names_and_comment_are_scanned(tmp_path: Path,
                                             canaries: tuple[Canary, Canary]) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"keys/{canaries[0].value}.txt", b"")
        archive.comment = canaries[1].value.encode()
    (tmp_path / "named.zip").write_bytes(buffer.getvalue())
    found, _ = scan([tmp_path / "named.zip"], canaries)
    root = tmp_path.as_posix()
    assert found == [f"{root}/named.zip#entries secret_key", f"{root}/named.zip#comment "
                     "webhook_secret"]


def test_archives_are_recognised_by_their_bytes_not_their_name(
    tmp_path: Path, canaries: tuple[Canary, Canary],
) -> None:
    (tmp_path / "download").write_bytes(zipped({"config.json": canaries[0].value.encode()}))
    found, _ = scan([tmp_path / "download"], canaries)
    assert found == [f"{tmp_path.as_posix()}/download!/config.json secret_key"]


def test_a_loose_binary_plist_is_decoded_too(tmp_path: Path,
                                             canaries: tuple[Canary, Canary]) -> None:
    path = tmp_path / "GoogleService-Info.plist"
    path.write_bytes(plistlib.dumps({"API_KEY": "é" + canaries[1].value},
                                    fmt=plistlib.FMT_BINARY))
    found, incomplete = scan([path], canaries)
    assert found == [f"{path.as_posix()} webhook_secret"] and incomplete == ()


def test_a_url_that_answers_a_zip_is_opened(canaries: tuple[Canary, Canary]) -> None:
    apk = zipped({"assets/config.json": json.dumps({"k": canaries[0].value}).encode()})

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/downloads/lumen.apk":
            return httpx.Response(200, content=apk, headers={
                "content-type": "application/vnd.android.package-archive"})
        return httpx.Response(404)

    with httpx.Client(transport=httpx.MockTransport(answer)) as client:
        collected = crawl(["http://partner.test/downloads/lumen.apk"], client=client)
    findings = SecretScanner(canaries).scan(collected.artefacts)
    assert [f.location for f in findings] == [
        "http://partner.test/downloads/lumen.apk!/assets/config.json"]
    assert collected.complete


def test_browser_capture_artefacts_are_expanded(canaries: tuple[Canary, Canary]) -> None:
    body = zipped({"a.json": canaries[0].value.encode()})
    collected = expanded([Artefact(location="https://x.test/app.zip", body=body)],
                         notes=("a note",))
    assert [a.location for a in collected.artefacts] == ["https://x.test/app.zip",
                                                         "https://x.test/app.zip#entries",
                                                         "https://x.test/app.zip!/a.json"]
    assert collected.notes == ("a note",) and collected.complete


# -- bounds: a zip bomb is an incomplete scan, never a clean one -----------------------------

def bomb(size: int = 8 * 1024 * 1024) -> bytes:
    return zipped({"assets/padding.bin": b"\0" * size})


def nested(depth: int, inner: dict[str, bytes]) -> bytes:
    body = zipped(inner)
    for level in range(depth - 1):
        body = zipped({f"level{depth - 1 - level}.zip": body})
    return body


def test_a_compression_bomb_is_incomplete(tmp_path: Path, canaries: tuple[Canary, Canary]) -> None:
    (tmp_path / "bomb.apk").write_bytes(bomb())
    found, incomplete = scan([tmp_path / "bomb.apk"], canaries)
    assert found == []
    assert len(incomplete) == 1
    assert "bomb.apk!/assets/padding.bin: expands more than 200:1" in incomplete[0]
    assert "max compression ratio" in incomplete[0]


def test_nesting_beyond_the_depth_is_incomplete(tmp_path: Path,
                                                canaries: tuple[Canary, Canary]) -> None:
    (tmp_path / "deep.zip").write_bytes(nested(6, {"config.json": canaries[0].value.encode()}))
    found, incomplete = scan([tmp_path / "deep.zip"], canaries)
    assert found == []
    assert len(incomplete) == 1 and "(max depth)" in incomplete[0]
    assert "deep.zip!/level1.zip!/level2.zip!/level3.zip!/level4.zip: archive not opened" \
        in incomplete[0]
    assert scan([tmp_path / "deep.zip"], canaries, ArchiveLimits(max_depth=6)) == (
        [f"{tmp_path.as_posix()}/deep.zip!/level1.zip!/level2.zip!/level3.zip!/level4.zip"
         "!/level5.zip!/config.json secret_key"], ())


def test_too_many_entries_is_incomplete(tmp_path: Path, canaries: tuple[Canary, Canary]) -> None:
    entries = {f"res/raw/f{i}.txt": b"x" for i in range(30)}
    (tmp_path / "many.zip").write_bytes(zipped(entries))
    found, incomplete = scan([tmp_path / "many.zip"], canaries, ArchiveLimits(max_entries=20))
    assert found == []
    assert incomplete == (f"{tmp_path.as_posix()}/many.zip: 30 entries, only the first 20 opened "
                          "(max entries per archive)",)
    _, incomplete = scan([tmp_path / "many.zip"], canaries,
                         ArchiveLimits(max_total_entries=25, max_entries=20))
    assert "max total entries" in incomplete[0] and "not opened" in incomplete[0]
    (tmp_path / "two.zip").write_bytes(zipped({"a.zip": zipped(entries), "b.zip": zipped(entries)}))
    _, incomplete = scan([tmp_path / "two.zip"], canaries, ArchiveLimits(max_total_entries=40))
    assert incomplete == (f"stopped unpacking at 40 entries in all (max total entries), before "
                          f"{tmp_path.as_posix()}/two.zip!/b.zip!/res/raw/f8.txt",)


def test_entry_and_total_byte_bounds(tmp_path: Path, canaries: tuple[Canary, Canary]) -> None:
    big = canaries[0].value.encode() + bytes(range(256)) * 64  # ~16 KiB
    (tmp_path / "big.zip").write_bytes(zipped({"a.bin": big, "b.bin": big}))
    found, incomplete = scan([tmp_path / "big.zip"], canaries,
                             ArchiveLimits(max_entry_bytes=4096))
    assert len(found) == 2  # the first bytes of an over-long entry are still scanned
    assert len(incomplete) == 2 and all("(max entry bytes)" in n for n in incomplete)
    found, incomplete = scan([tmp_path / "big.zip"], canaries,
                             ArchiveLimits(max_total_bytes=20_000))
    assert any("max total bytes" in n for n in incomplete)


def test_a_lying_size_or_a_broken_archive_is_incomplete(tmp_path: Path,
                                                        canaries: tuple[Canary, Canary]) -> None:
    body = bytearray(zipped({"config.json": b"{}" + b" " * 100_000}))
    declared = struct.pack("<I", 100_002)
    for at in range(len(body) - 4):  # claim 1 000 bytes in the local and central headers
        if body[at : at + 4] == declared:
            body[at : at + 4] = struct.pack("<I", 1000)
    (tmp_path / "lying.zip").write_bytes(bytes(body))
    (tmp_path / "broken.apk").write_bytes(b"PK\x03\x04" + b"\x00" * 40)
    (tmp_path / "bad.plist").write_bytes(b"bplist00" + b"\xff" * 40)
    (tmp_path / "bad.xml").write_bytes(binary_xml(["a"], utf8=False)[:-30] + b"\0" * 30)
    corrupt = bytearray(binary_xml(["a"], utf8=True))
    corrupt[8 + 28 : 8 + 32] = struct.pack("<I", 10_000)  # a string offset outside its pool
    (tmp_path / "corrupt.xml").write_bytes(bytes(corrupt))
    for name in ("lying.zip", "broken.apk", "bad.plist", "corrupt.xml"):
        found, incomplete = scan([tmp_path / name], canaries)
        assert found == [] and len(incomplete) == 1, (name, incomplete)
    with pytest.raises(BinaryXmlError):
        string_pools(bytes(corrupt))


def test_plist_fan_out_is_bounded(tmp_path: Path, canaries: tuple[Canary, Canary]) -> None:
    # One string referenced many times: small on disk, large when written out.
    shared = "v" * 10_000
    (tmp_path / "fan.plist").write_bytes(plistlib.dumps([shared] * 300, fmt=plistlib.FMT_BINARY))
    found, incomplete = scan([tmp_path / "fan.plist"], canaries)
    assert found == [] and "could not be decoded" in incomplete[0]


# -- the scan command -----------------------------------------------------------------------

def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["scan", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_scan_command_finds_the_apk_and_ipa_secrets(
    env: None, apk: Path, ipa: Path, canaries: tuple[Canary, Canary],
    capsys: pytest.CaptureFixture[str], tmp_path: Path,
) -> None:
    sarif = tmp_path / "out.sarif"
    code, out, err = run(capsys, str(apk), str(ipa), *CANARY_ARGS, "--sarif", str(sarif))
    assert code == 1, out + err
    assert "3 findings in" in out and "INCOMPLETE" not in out
    assert f"{apk.as_posix()}!/assets/config.json:4:" in out
    assert f"{ipa.as_posix()}!/Payload/Lumen.app/Info.plist:" in out
    uris = [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            for r in json.loads(sarif.read_text())["runs"][0]["results"]]
    assert any(uri.startswith("file://") and uri.endswith("app.apk!/assets/config.json")
               for uri in uris), uris
    assert any(uri.endswith("app.ipa!/Payload/Lumen.app/Info.plist") for uri in uris), uris
    assert leaks(out + err + sarif.read_text(), canaries) == []


def test_scan_command_calls_a_bomb_incomplete(env: None, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "bomb.apk").write_bytes(bomb())
    (tmp_path / "deep.ipa").write_bytes(nested(6, {"Info.plist": b"<plist/>"}))
    sarif = tmp_path / "out.sarif"
    code, out, err = run(capsys, str(tmp_path / "bomb.apk"), str(tmp_path / "deep.ipa"),
                         *CANARY_ARGS, "--sarif", str(sarif))
    assert code == 2
    assert "0 findings" in out and "the scan is INCOMPLETE" in out
    assert "max compression ratio" in out and "(max depth)" in out
    assert "the scan is incomplete" in err
    assert json.loads(sarif.read_text())["runs"][0]["invocations"][0][
        "executionSuccessful"] is False


def test_scan_command_clean_archive_exits_0(env: None, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "mobile").mkdir()
    (tmp_path / "mobile" / "app.apk").write_bytes(zipped({
        "AndroidManifest.xml": binary_xml(manifest_strings("public"), utf8=False),
        "assets/config.json": b'{"publishableKey": "pk_test_public", "poolId": "EUR-USDT"}',
    }))
    code, out, _ = run(capsys, str(tmp_path / "mobile" / "**" / "*.apk"), *CANARY_ARGS)
    assert code == 0, out
    assert "0 findings in 4 artefacts" in out  # the archive, its entry names, two entries


@settings(max_examples=150, deadline=None)
@given(prefix=st.sampled_from([b"PK\x03\x04", b"bplist00", b"\x03\x00\x08\x00",
                               b"\x02\x00\x0c\x00"]),
       noise=st.binary(max_size=300))
def test_arbitrary_bytes_after_a_magic_never_crash(prefix: bytes, noise: bytes) -> None:
    size = struct.pack("<I", 8 + len(noise)) if prefix[0] in (2, 3) else b""
    body = prefix + size + noise
    collected = expanded([Artefact(location="x.bin", body=body)])
    assert collected.artefacts  # scanned as bytes at least, or decoded
    SecretScanner([Canary(label="k", value="sk_test_" + "Ab9Cd8Ef7Gh6" * 2)]).scan(
        collected.artefacts)
