"""The planted-secret corpus: files made at test time from fake canaries, with expected hits.

Nothing here is a real secret: the canaries are random values minted per test session, in
the simulator's formats (``sk_test_`` + url-safe random, ``whsec_`` + base64 random).
"""

from __future__ import annotations

import base64
import json
import secrets
import tempfile
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from conformance.scan import Canary


def mint_canaries() -> tuple[Canary, Canary]:
    """A secret key and a webhook secret in the simulator's formats, fresh each call."""
    key = "sk_test_" + secrets.token_urlsafe(24)
    while True:  # a webhook secret with both '+' and '/' exercises URL and JSON escaping
        webhook = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
        if "+" in webhook and "/" in webhook:
            break
    return Canary(label="secret_key", value=key), Canary(label="webhook_secret", value=webhook)


@dataclass(frozen=True, slots=True, kw_only=True)
class Planted:
    """One planted secret: the file, the rule and canary expected, where it must be found."""

    case: str
    file: str
    rule_id: str
    label: str
    # The finding's byte offset must lie in [start, end) of the file (exact when end = start+1).
    start: int
    end: int


def _esc(text: str, template: str, every: int = 1) -> str:
    return "".join(template.format(ord(c)) if i % every == 0 else c for i, c in enumerate(text))


class CorpusBuilder:
    """Writes planted files into a directory and remembers where each secret went."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.planted: list[Planted] = []

    def plant(self, case: str, file: str, before: str, secret_text: str, after: str, *,
              rule_id: str, label: str, exact: bool = True, binary_prefix: bytes = b"") -> None:
        """Write ``before + secret_text + after``; the finding must start where it starts."""
        head = binary_prefix + before.encode()
        body = head + secret_text.encode() + after.encode()
        path = self.root / file
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
        start = len(head)
        end = start + 1 if exact else start + len(secret_text.encode())
        self.planted.append(Planted(case=case, file=path.as_posix(), rule_id=rule_id,
                                    label=label, start=start, end=end))


def build_corpus(root: Path, key: Canary, webhook: Canary) -> list[Planted]:
    """Every encoding the scanner promises to find, one file per case."""
    c = CorpusBuilder(root)
    sk, wh = key.value, webhook.value
    skb = sk.encode()
    js_pre = "/* app bundle */\nexport function init() {\n  const cfg = "
    c.plant("raw-js", "raw/app.js", js_pre + '"', sk, '";\n}\n',
            rule_id="canary.raw", label="secret_key")
    c.plant("raw-html-inline", "raw/index.html",
            "<!doctype html>\n<html><body>\n<script>\nwindow.KEY = '", sk, "';\n</script>\n",
            rule_id="canary.raw", label="secret_key")
    c.plant("raw-plist", "mobile/Info.plist",
            "<?xml version=\"1.0\"?>\n<plist><dict>\n<key>Webhook</key><string>", wh,
            "</string>\n</dict></plist>\n", rule_id="canary.raw", label="webhook_secret")
    c.plant("raw-binary", "mobile/libapp.so", "\x01ELF-ish", sk, "\x00\x00tail",
            rule_id="canary.raw", label="secret_key", binary_prefix=b"\x7fELF\x00\x00\x00")
    c.plant("key-body-without-prefix", "raw/prefix.js", 'const p = "sk_" + "test_";\n'
            "const body = '", sk[len("sk_test_"):], "';\nexport const key = p + body;\n",
            rule_id="canary.raw", label="secret_key")
    # base64: standard and url-safe, padded and not, alone and inside longer blobs.
    std = base64.b64encode(skb).decode()
    c.plant("base64-standard-padded", "b64/a.js", 'atob("', std, '")\n',
            rule_id="canary.base64", label="secret_key")
    c.plant("base64-urlsafe-unpadded", "b64/b.js", "decode('",
            base64.urlsafe_b64encode(wh.encode()).decode().rstrip("="), "')\n",
            rule_id="canary.base64", label="webhook_secret")
    for prefix_len in (0, 1, 2, 4, 5, 9):
        config = json.dumps({"env": "prod" + "x" * prefix_len, "apiKey": sk, "pool": "usdt"})
        blob = base64.b64encode(config.encode()).decode()
        c.plant(f"base64-config-offset-{prefix_len}", f"b64/config{prefix_len}.json",
                '{"config": "', blob, '"}\n', rule_id="canary.base64", label="secret_key",
                exact=False)
    urlsafe_blob = base64.urlsafe_b64encode(b"\xff\xfe" + wh.encode() + b"\xfb").decode()
    c.plant("base64-urlsafe-embedded", "b64/url.txt", "token=", urlsafe_blob, "\n",
            rule_id="canary.base64", label="webhook_secret", exact=False)
    # hex and percent-encoding.
    c.plant("hex-lower", "hex/a.js", 'const h = "', skb.hex(), '";\n',
            rule_id="canary.hex", label="secret_key")
    c.plant("hex-upper", "hex/b.js", "const h = '", skb.hex().upper(), "';\n",
            rule_id="canary.hex", label="secret_key")
    c.plant("url-quote", "url/a.html", '<a href="/cb?secret=',
            urllib.parse.quote(wh, safe=""), '">x</a>\n',
            rule_id="canary.url", label="webhook_secret")
    c.plant("url-every-byte", "url/b.js", 'fetch("/x?k=', _esc(sk, "%{:02X}"), '")\n',
            rule_id="canary.url", label="secret_key")
    # JSON and JS string escapes, whole and mixed.
    c.plant("json-u-escapes", "json/a.json", '{"key": "', _esc(sk, "\\u{:04x}"), '"}\n',
            rule_id="canary.json", label="secret_key")
    c.plant("json-u-escapes-mixed", "json/b.json", '{\n  "key": "', _esc(sk, "\\u{:04X}", 3),
            '"\n}\n', rule_id="canary.json", label="secret_key")
    c.plant("json-escaped-slashes", "json/c.json", '{"webhook":"', wh.replace("/", "\\/"), '"}',
            rule_id="canary.json", label="webhook_secret")
    c.plant("js-x-escapes", "jsesc/a.js", "var s='", _esc(sk, "\\x{:02x}"), "';\n",
            rule_id="canary.jsescape", label="secret_key")
    c.plant("js-x-escapes-mixed", "jsesc/b.js", 'var s="', _esc(sk, "\\x{:02X}", 4), '";\n',
            rule_id="canary.jsescape", label="secret_key")
    c.plant("js-u-brace-escapes", "jsesc/c.js", "var s=`", _esc(sk, "\\u{{{:x}}}", 2), "`;\n",
            rule_id="canary.jsescape", label="secret_key")
    c.plant("html-char-refs", "html/a.html", '<div data-k="', _esc(sk, "&#{};"), '"></div>\n',
            rule_id="canary.html", label="secret_key")
    # Split across concatenated literals.
    c.plant("concat-two", "concat/a.js", 'const k = "', f'{sk[:5]}" + "{sk[5:]}', '";\n',
            rule_id="canary.concat", label="secret_key")
    c.plant("concat-three-lines", "concat/b.js", "const k =\n  '",
            f"{sk[:9]}' +\n  '{sk[9:20]}' +\n  \"{sk[20:]}", '";\n',
            rule_id="canary.concat", label="secret_key")
    c.plant("concat-escaped-pieces", "concat/c.js", "x=a?'",
            f"{wh[:10]}'+'{wh[10:].replace('/', chr(92) + '/')}", "':b;\n",
            rule_id="canary.concat", label="webhook_secret")
    c.plant("concat-base64", "concat/d.js", 'k=atob("', f'{std[:7]}"+"{std[7:]}', '");\n',
            rule_id="canary.concat", label="secret_key")
    # Source maps: in the map file, and in the original source it carries.
    source = f"// src/config.ts\nexport const config = {{\n  secretKey: '{sk}',\n}};\n"
    map_doc = json.dumps({"version": 3, "file": "app.js", "sources": ["src/config.ts"],
                          "sourcesContent": [source], "names": [], "mappings": "AAAA"})
    map_path = root / "maps" / "app.js.map"
    map_path.parent.mkdir(parents=True, exist_ok=True)
    map_path.write_text(map_doc)
    in_map = map_doc.index(sk)
    c.planted.append(Planted(case="sourcemap-file", file=map_path.as_posix(),
                             rule_id="canary.raw", label="secret_key", start=in_map,
                             end=in_map + 1))
    in_source = source.encode().index(skb)
    c.planted.append(Planted(case="sourcemap-sourcesContent",
                             file=map_path.as_posix() + "#sourcesContent/0",
                             rule_id="canary.raw", label="secret_key", start=in_source,
                             end=in_source + 1))
    inline_map = json.dumps({"version": 3, "sources": ["w.ts"], "sourcesContent": [
        f"const w = '{wh}';\n"], "mappings": ""})
    inline = base64.b64encode(inline_map.encode()).decode()
    inline_path = root / "maps" / "inline.js"
    inline_head = ("console.log(1);\n"
                   "//# sourceMappingURL=data:application/json;charset=utf-8;base64,")
    inline_path.write_text(f"{inline_head}{inline}\n")
    # The inline map's base64 carries the secret too, and so does the decoded map.
    c.planted.append(Planted(case="inline-sourcemap-base64", file=inline_path.as_posix(),
                             rule_id="canary.base64", label="webhook_secret",
                             start=len(inline_head), end=len(inline_head) + len(inline)))
    in_inline = inline_map.index(wh)
    c.planted.append(Planted(case="inline-sourcemap-decoded",
                             file=inline_path.as_posix() + "#sourceMappingURL/0",
                             rule_id="canary.raw", label="webhook_secret", start=in_inline,
                             end=in_inline + 1))
    c.planted.append(Planted(case="inline-sourcemap-sourcesContent",
                             file=inline_path.as_posix() + "#sourceMappingURL/0#sourcesContent/0",
                             rule_id="canary.raw", label="webhook_secret", start=11, end=12))
    return c.planted


def case_names() -> list[str]:
    """The corpus's case names (for parametrize ids), from a throw-away build."""
    with tempfile.TemporaryDirectory() as tmp:
        return [p.case for p in build_corpus(Path(tmp), *mint_canaries())]
