#!/usr/bin/env python3
"""Write a pbx config whose staff are the bench users (gen-users.sh: user U, password "pwU").

usage: pbx-config.py WORK DOMAIN SIP_PORT
Reads WORK/data/users.csv (and adds the callee 2000); writes WORK/pbx.yaml with the passwords
given as digest hashes, SIP on 127.0.0.1:SIP_PORT (UDP), the admin API on an ephemeral port,
relay ports 20000-60000 (a call needs a pair for as long as it lasts).
"""
import hashlib
import sys

work, domain, port = sys.argv[1], sys.argv[2], sys.argv[3]
users = [l.split(";")[0] for l in open(f"{work}/data/users.csv") if l.strip() and l[0].isdigit()]
users.append("2000")


def ha1(alg, user):
    return hashlib.new(alg, f"{user}:{domain}:pw{user}".encode()).hexdigest()


with open(f"{work}/pbx.yaml", "w") as f:
    f.write(
        f'version: 1\nserver:\n  sip:\n    listen: [{{ transport: udp, address: "127.0.0.1:{port}" }}]\n'
        f'  http: {{ listen: "127.0.0.1:0" }}\n  data_dir: pbxdata\n'
        # One relay pair per call in progress: room for 10,000 (rate x hold at 2,500/s is
        # ~3,000), clear of the SIPp media ports (16000-19999).
        f"  rtp: {{ port_min: 20000, port_max: 60000 }}\n"
        # The load generators all send from loopback: trusted, so no per-source rate applies.
        f'  security: {{ trusted: ["127.0.0.0/8"] }}\n'
        f"tenants:\n  - id: bench\n    name: Bench\n    domain: {domain}\n    max_users: {len(users)}\n    staff:\n"
    )
    for u in users:
        f.write(
            f'      - {{ name: "User {u}", login: "{u}", password: {{ ha1: {{ md5: "{ha1("md5", u)}", sha256: "{ha1("sha256", u)}" }} }} }}\n'
        )
