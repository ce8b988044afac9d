#!/usr/bin/env python3
"""Writes the hand-made seeds of corpus/crdt_apply/ (seed-*).

The byte layout is the one documented at the top of crdt_apply_fuzz.c; each
seed below is a small scenario in it. The rest of the corpus: bug-* are
reproducers of engine bugs the fuzzer found (committed once fixed), and
files named by their SHA-1 were found by the fuzzer and kept by
`crdt_apply_fuzz -set_cover_merge=1`.
Run from anywhere: python3 tests/fuzz/make_seeds.py
"""
import os
import random

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "crdt_apply")
END = 240  # position byte: the end of the document

def flags(server=False, chaos=False):
    return bytes([(1 if server else 0) | (2 if chaos else 0)])

def ascii_text(count, base=0):
    """Text spec: an ASCII run of 1..7 letters starting at 'a' + base."""
    assert 1 <= count <= 7
    return bytes([(24 << 3) | (count - 1), base])

def chars(*idx):
    """Text spec: characters from the CHARS table (8 = é, 9 = ↑, 11 = 😀,
    12 = 𝄞, 15 = U+0000)."""
    assert 1 <= len(idx) <= 7
    return bytes([len(idx) - 1, *idx])

def raw(*b):
    assert 1 <= len(b) <= 7
    return bytes([(28 << 3) | (len(b) - 1), *b])

def with_bad(count, *idx):
    """count table chars with a bad sequence (BAD[idx[count//2]]) in the middle."""
    return bytes([(30 << 3) | (count - 1), *idx])

def ins(d, pos, text):
    return bytes([(d << 4) | 0, pos]) + text

def dele(d, pos, n):
    return bytes([(d << 4) | 3, pos, n - 1])

def deliver(d, idx, sl=0):
    return bytes([(d << 4) | 5, idx, sl])

def forge(d, *b):
    return bytes([(d << 4) | 8, *b])

def sync(d, e):
    return bytes([(d << 4) | 11, e])

def agent(d, k):
    return bytes([(d << 4) | 12, k])

def probe_pos(d, pos, assoc=1):
    return bytes([(d << 4) | 13, pos, assoc])

def probe_hist(d, pos):
    return bytes([(d << 4) | 14, pos])

def flush(d):
    return bytes([(d << 4) | 15])

SEEDS = {
    "type-and-sync": flags() + ins(0, END, ascii_text(5, 7)) + sync(1, 0),
    "type-each-char": flags() + b"".join(ins(0, END, ascii_text(1, i)) for i in range(6)) + sync(1, 0),
    "concurrent-same-gap": flags() + ins(0, 0, ascii_text(3, 0)) + ins(1, 0, ascii_text(3, 10))
        + sync(1, 0) + sync(0, 1),
    "concurrent-middle": flags() + ins(0, 0, ascii_text(4, 0)) + sync(1, 0)
        + ins(0, 120, ascii_text(2, 5)) + ins(1, 120, ascii_text(2, 15)) + sync(0, 1),
    "delete-range": flags() + ins(0, 0, ascii_text(7, 0)) + dele(0, 60, 3) + sync(1, 0),
    "delete-concurrent": flags() + ins(0, 0, ascii_text(7, 0)) + sync(1, 0) + dele(0, 30, 4)
        + dele(1, 60, 4) + sync(0, 1) + sync(1, 0),
    "delete-then-insert": flags() + ins(0, 0, ascii_text(6, 0)) + sync(1, 0) + dele(0, 0, 6)
        + ins(1, 120, ascii_text(2, 3)) + sync(0, 1),
    "replace": flags() + ins(0, 0, ascii_text(5, 0)) + dele(0, 48, 2) + ins(0, 48, chars(9, 10)),
    "out-of-order": flags() + ins(0, END, ascii_text(2, 0)) + ins(0, END, ascii_text(2, 2))
        + ins(0, END, ascii_text(2, 4)) + deliver(1, 2) + deliver(1, 1) + deliver(1, 0),
    "reverse-flush": flags() + b"".join(ins(0, END, ascii_text(1, i)) + dele(0, 0, 1) for i in range(4))
        + flush(1),
    "slices": flags() + ins(0, 0, ascii_text(7, 0)) + deliver(1, 0, 0x80 | 0x23)
        + deliver(1, 0, 0x80 | 0x10) + deliver(1, 0, 0),
    "slice-overlap": flags() + ins(0, 0, ascii_text(7, 0)) + deliver(1, 0, 0x80 | 0x31)
        + deliver(1, 0, 0x80 | 0x52) + deliver(1, 0),
    "duplicate": flags() + ins(0, 0, ascii_text(3, 0)) + deliver(1, 0) + deliver(1, 0) + sync(1, 0),
    "utf8-mixed": flags() + ins(0, 0, chars(0, 8, 9, 11, 12, 15)) + sync(1, 0) + probe_pos(1, 200),
    "utf8-nul": flags() + ins(0, 0, chars(15, 15, 0)) + dele(0, 100, 1) + sync(1, 0),
    "utf8-invalid": flags() + ins(0, 0, raw(0xED, 0xA0, 0x80)) + ins(0, 0, raw(0xC0, 0x80))
        + ins(0, 0, with_bad(3, 0, 1, 2)) + ins(0, 0, raw(0x61, 0xFF)),
    "emoji-probes": flags() + ins(0, 0, chars(11, 0, 11, 12)) + probe_pos(0, 60, 0)
        + probe_pos(0, 120, 1) + probe_pos(0, END) + probe_hist(0, 60),
    "history": flags() + ins(0, 0, ascii_text(4, 0)) + dele(0, 60, 2) + probe_hist(0, 0)
        + probe_hist(0, 100) + probe_hist(0, 250),
    "agent-switch": flags() + ins(0, 0, ascii_text(2, 0)) + agent(0, 1) + ins(0, END, ascii_text(2, 5))
        + agent(0, 0) + ins(0, 0, ascii_text(1, 9)) + sync(1, 0),
    "bad-positions": flags() + ins(0, 250, ascii_text(1, 0)) + dele(0, 250, 1) + dele(0, 0, 1)
        + ins(0, 0, ascii_text(2, 0)) + dele(0, 0, 17),
    "server-relay": flags(server=True) + ins(0, 0, ascii_text(3, 0)) + sync(2, 0) + ins(1, 0, ascii_text(3, 5))
        + sync(2, 1) + sync(1, 0) + sync(0, 1) + ins(2, 0, ascii_text(1, 0)),
    "server-forged-ins": flags(server=True) + ins(0, 0, ascii_text(3, 0)) + sync(2, 0)
        + forge(2, 0x04, 0x00, 0x80) + ascii_text(2, 3) + b"\x00"
        + forge(2, 0x06, 0x00, 0x00) + chars(11) + b"\x00",
    "server-forged-del": flags(server=True) + ins(0, 0, ascii_text(5, 0)) + sync(2, 0)
        + forge(2, 0x05, 0x04, 0x40) + forge(2, 0x05, 0x04, 0x40),
    "server-forged-gap": flags(server=True) + forge(2, 0xA4, 0x00, 0x00) + ascii_text(2, 0) + b"\x00"
        + forge(2, 0x04, 0x00, 0x00) + ascii_text(1, 0) + b"\x00",
    "server-forged-badlen": flags(server=True) + forge(2, 0x04, 0x00, 0x00) + ascii_text(2, 0) + b"\xD0"
        + forge(2, 0x04, 0x00, 0x00) + raw(0xED, 0xA0, 0x80) + b"\x00",
    "server-forged-overflow": flags(server=True) + forge(2, 0xF4, 0x01, 0x00) + ascii_text(3, 0) + b"\x00"
        + forge(2, 0xE4, 0xFF, 0xFF, 0xFF, 0xFE, 0x00, 0x00) + ascii_text(3, 0) + b"\x00",
    "server-forged-origins": flags(server=True) + ins(0, 0, ascii_text(4, 0)) + sync(2, 0)
        + forge(2, 0x06, 0x02, 0x40, 0xFF, 0x20) + ascii_text(1, 0) + b"\x00"
        + forge(2, 0x06, 0x03, 0x80, 0x40) + ascii_text(1, 1) + b"\x00",
    "chaos-forged-local": flags(chaos=True) + ins(0, 0, ascii_text(2, 0)) + forge(0, 0x00, 0x00, 0x00)
        + ascii_text(2, 5) + b"\x00" + ins(0, END, ascii_text(2, 9)) + sync(1, 0),
    "chaos-conflict": flags(server=True, chaos=True) + forge(1, 0x00, 0x00, 0x00) + ascii_text(1, 0)
        + b"\x00" + ins(0, 0, ascii_text(1, 3)) + sync(1, 0) + sync(2, 1) + sync(2, 0),
    "readonly-server": flags(server=True) + ins(2, 0, ascii_text(1, 0)) + dele(2, 0, 1)
        + agent(2, 0) + sync(0, 2),
}

def main():
    os.makedirs(OUT, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(OUT, "seed-" + name), "wb") as f:
            f.write(data)
    # A few random scenarios, deterministic.
    rng = random.Random(20261121)
    for i in range(6):
        data = bytes([i & 3]) + bytes(rng.randrange(256) for _ in range(rng.randrange(16, 200)))
        with open(os.path.join(OUT, "seed-random-%d" % i), "wb") as f:
            f.write(data)
    print("%d seeds in %s" % (len(SEEDS) + 6, OUT))

if __name__ == "__main__":
    main()
