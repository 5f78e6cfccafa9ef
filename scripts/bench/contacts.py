#!/usr/bin/env python3
"""Contacts for scripts/bench.sh: N rows of a GHL-columned CSV, split into files small enough
for one import each, plus samples of real ids, emails and phones for the lookup measurements.

    contacts.py N OUT_DIR [ROWS_PER_FILE]

Writes OUT_DIR/contacts-NNN.csv, and ids.paths, emails.paths, phones.paths (one API path a
line, 1,000 rows sampled at random), rare.txt (the email local part of one contact: a substring
that matches one contact). Every id is a ULID, every email and phone unique, and the names,
tags (`lead`, `cohort-K`, `vip` on every 100th) and first names vary. Deterministic: the same N
gives the same files.
"""
import os
import random
import sys
from urllib.parse import quote

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
FIRST = ["Jane", "Omar", "Priya", "Lucas", "Mei", "Aiden", "Fatima", "Noah", "Chloe", "Mateo",
         "Sofia", "Ethan", "Amara", "Liam", "Yuki", "Zoe", "Hannah", "Diego", "Leila", "Marcus",
         "Ingrid", "Kwame", "Rosa", "Tariq", "Elena", "Samuel", "Anika", "Felix", "Nadia", "Owen"]
LAST = ["Doe", "Nguyen", "Patel", "Garcia", "Okafor", "Smith", "Kowalski", "Haddad", "Rossi",
        "Kim", "Johnson", "Dubois", "Silva", "Cohen", "Moreau", "Tanaka", "Ali", "Anderson",
        "Wilson", "Thompson", "Jackson", "Nelson", "Carson", "Olsen", "Brennan", "Schmidt",
        "Lopez", "Ivanova", "Mensah", "Yilmaz", "Novak", "Fischer", "Murphy", "Sato", "Reyes",
        "Khan", "Costa", "Larsen", "Bauer", "Hughes"]
# Valid US area codes, none of which new_patient.lua uses (the contacts may go into the store
# of the bookings run); each gives 8 million numbers (exchanges 200-999).
AREAS = ["213", "323", "424", "818", "626", "714", "949", "858", "619", "510"]


def ulid(ms, rnd):
    value = (ms << 80) | rnd
    return "".join(CROCKFORD[(value >> (5 * (25 - k))) & 31] for k in range(26))


def main():
    n = int(sys.argv[1])
    out = sys.argv[2]
    per_file = int(sys.argv[3]) if len(sys.argv) > 3 else 250_000
    rng = random.Random(14)
    sample = set(rng.sample(range(n), min(n, 1000)))
    ids, emails, phones = [], [], []
    rare = None
    header = "Contact Id,First Name,Last Name,Email,Phone,Tags\n"
    f = None
    for i in range(n):
        if i % per_file == 0:
            if f:
                f.close()
            f = open(os.path.join(out, f"contacts-{i // per_file:03}.csv"), "w")
            f.write(header)
        first = FIRST[(i * 7) % len(FIRST)]
        last = LAST[(i // 3) % len(LAST)]
        email = f"{first.lower()}.{last.lower()}.{i}@example.net"
        phone = f"+1{AREAS[(i // 8_000_000) % len(AREAS)]}{2_000_000 + i % 8_000_000:07}"
        tags = f"lead;cohort-{i % 20}" + (";vip" if i % 100 == 0 else "")
        cid = ulid(1_750_000_000_000 + i, rng.getrandbits(80))
        f.write(f'{cid},{first},{last},{email},{phone},"{tags}"\n')
        if i in sample:
            ids.append(f"/api/contacts/{cid}")
            emails.append(f"/api/contacts?q={quote(email, safe='')}")
            phones.append(f"/api/contacts?q={quote(phone, safe='')}")
            if rare is None and i >= n // 2:
                rare = email.split("@")[0]
    if f:
        f.close()
    for name, lines in (("ids", ids), ("emails", emails), ("phones", phones)):
        rng.shuffle(lines)
        with open(os.path.join(out, f"{name}.paths"), "w") as p:
            p.write("\n".join(lines) + "\n")
    with open(os.path.join(out, "rare.txt"), "w") as r:
        r.write((rare or emails[0]) + "\n")


if __name__ == "__main__":
    main()
