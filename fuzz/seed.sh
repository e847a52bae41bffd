#!/usr/bin/env bash
# Seeds the fuzz corpora from the repository's own data, so nothing is kept twice:
#   sip_message  tests/data/rfc4475/*.dat, and every message the SIPp scenarios (tests/sipp,
#                bench/sip) send, their keywords filled in
#   sdp          the SDP bodies of those messages
#   config       pbx.yaml, examples/*.yaml (an include's files appended after `#=== <name>`
#                lines, the way the `config` target splits an input into files),
#                examples/tenants/*.yaml and tests/fixtures/invalid/**/*.yaml
#   admin_body   apply bodies (`{"bundle": ...}`) made of the example configs, and rotation bodies
# into fuzz/corpus/<target>/ (not committed; libFuzzer adds what it finds there). Idempotent.
# Only POSIX tools: runs on a fresh machine.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
corpus="$root/fuzz/corpus"
mkdir -p "$corpus"/{sip_message,sdp,config,admin_body}

# --- sip_message: the RFC 4475 torture messages, byte-exact.
for f in "$root"/tests/data/rfc4475/*.dat; do
  cp "$f" "$corpus/sip_message/rfc4475-$(basename "$f" .dat)"
done

# --- SIPp scenarios: each <send> CDATA section as a message, keywords replaced by plausible
# values, CRLF line ends and Content-Length made right; its SDP body (if any) an sdp seed.
sipp_messages() { # $1 = scenario file; writes $2-N files into $3 (sip) and $4 (sdp)
  awk -v prefix="$2" -v sipdir="$3" -v sdpdir="$4" '
    function fill(s) {
      gsub(/\[service\]|\[field1\]|\[from_number\]/, "200", s)
      gsub(/\[field0\]/, "alice", s)
      gsub(/\[domain\]/, "demo.pbx.local", s)
      gsub(/\[local_ip\]|\[media_ip\]/, "192.0.2.10", s)
      gsub(/\[remote_ip\]/, "192.0.2.1", s)
      gsub(/\[local_ip_type\]|\[media_ip_type\]/, "4", s)
      gsub(/\[local_port\]/, "5062", s)
      gsub(/\[remote_port\]/, "5060", s)
      gsub(/\[media_port\]|\[sink_port\]/, "6000", s)
      gsub(/\[transport\]/, "UDP", s)
      gsub(/\[branch\]/, "z9hG4bK-fz-" NR, s)
      gsub(/\[call_id\]/, "fz-1@192.0.2.10", s)
      gsub(/\[cseq\]|\[call_number\]|\[digit\]|\[first\]|\[second\]/, "1", s)
      gsub(/\[pid\]/, "77", s)
      gsub(/\[expires\]/, "3600", s)
      gsub(/\[peer_tag_param\]/, ";tag=fz2", s)
      gsub(/\[next_url\]/, "sip:200@192.0.2.1:5060", s)
      gsub(/\[last_Via:\]/, "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-fz-in", s)
      gsub(/\[last_From:\]/, "From: <sip:bob@demo.pbx.local>;tag=fz3", s)
      gsub(/\[last_To:\]/, "To: <sip:200@demo.pbx.local>", s)
      gsub(/\[last_Call-ID:\]/, "Call-ID: fz-in@192.0.2.1", s)
      gsub(/\[last_CSeq:\]/, "CSeq: 1 INVITE", s)
      gsub(/\[last_Contact:\]/, "Contact: <sip:bob@192.0.2.1:5060>", s)
      gsub(/\[last_Record-Route:\]|\[routes\]|\[pcap\]|\[final\]/, "", s)
      return s
    }
    /<send/ { in_send = 1 }
    in_send && /<!\[CDATA\[/ { in_cdata = 1; n = 0; next }
    in_cdata && /\]\]>/ {
      in_cdata = 0; in_send = 0
      while (n > 0 && lines[n] == "") n--          # trailing blank lines
      start = 1; while (start <= n && lines[start] == "") start++
      if (start > n) next
      head = ""; body = ""; in_body = 0
      for (i = start; i <= n; i++) {
        if (!in_body && lines[i] == "") { in_body = 1; continue }
        if (in_body) body = body lines[i] "\r\n"; else head = head lines[i] "\r\n"
      }
      count++
      name = sprintf("%s-%d", prefix, count)
      h = head; gsub(/\[len\]/, length(body), h)
      printf "%s\r\n%s", h, body > (sipdir "/" name)
      close(sipdir "/" name)
      if (body ~ /^v=0/) { printf "%s", body > (sdpdir "/" name); close(sdpdir "/" name) }
      next
    }
    in_cdata {
      line = $0; sub(/^[ \t]+/, "", line); sub(/[ \t\r]+$/, "", line)
      if (line != "" && fill(line) == "") next   # a keyword standing for nothing here
      lines[++n] = fill(line)
    }
  ' "$1"
}
for f in "$root"/tests/sipp/*.xml "$root"/bench/sip/*.xml; do
  [ -e "$f" ] || continue
  sipp_messages "$f" "sipp-$(basename "$f" .xml)" "$corpus/sip_message" "$corpus/sdp"
done

# --- sdp: also the bodies of the RFC 4475 messages that carry SDP.
for f in "$root"/tests/data/rfc4475/*.dat; do
  if grep -q '^v=0' "$f"; then
    sed -n '/^v=0/,$p' "$f" >"$corpus/sdp/rfc4475-$(basename "$f" .dat)"
  fi
done

# --- config: a config and the files it includes as one input.
with_includes() { # $1 = main file; prints it, then each included file after its marker
  cat "$1"
  local dir
  dir="$(dirname "$1")"
  awk '/^include:/ { on = 1; next } on && /^[ \t]*- / { sub(/^[ \t]*- */, ""); print; next } { on = 0 }' "$1" |
    while read -r inc; do
      if [ -f "$dir/$inc" ]; then
        printf '#=== %s\n' "$inc"
        cat "$dir/$inc"
      fi
    done
}
with_includes "$root/pbx.yaml" >"$corpus/config/pbx"
for f in "$root"/examples/*.yaml "$root"/tests/fixtures/invalid/*.yaml; do
  with_includes "$f" >"$corpus/config/$(basename "$(dirname "$f")")-$(basename "$f" .yaml)"
done
for f in "$root"/examples/tenants/*.yaml "$root"/tests/fixtures/invalid/*/*.yaml; do
  [ -e "$f" ] || continue
  cp "$f" "$corpus/config/part-$(basename "$(dirname "$f")")-$(basename "$f" .yaml)"
done

# --- admin_body: apply bodies carrying the example configs (as `pbx apply` sends them), and
# the rotation bodies.
json_string() { # stdin as a JSON string
  awk 'BEGIN { printf "\"" } { gsub(/\\/, "\\\\"); gsub(/"/, "\\\""); gsub(/\t/, "\\t"); gsub(/\r/, "\\r"); printf "%s\\n", $0 } END { printf "\"" }'
}
apply_body() { # $1 = main file; $2 = extra top-level fields
  local dir
  dir="$(dirname "$1")"
  printf '{"bundle": {"main": "pbx.yaml", "files": {"pbx.yaml": %s' "$(json_string <"$1")"
  awk '/^include:/ { on = 1; next } on && /^[ \t]*- / { sub(/^[ \t]*- */, ""); print; next } { on = 0 }' "$1" |
    while read -r inc; do
      [ -f "$dir/$inc" ] && printf ', "%s": %s' "$inc" "$(json_string <"$dir/$inc")"
    done
  printf '}}%s}\n' "$2"
}
apply_body "$root/pbx.yaml" '' >"$corpus/admin_body/apply-pbx"
apply_body "$root/examples/small-office.yaml" ', "force": true' >"$corpus/admin_body/apply-small-office"
apply_body "$root/examples/multi-tenant.yaml" ', "expected_revision": 3, "max_removal_percent": 50' \
  >"$corpus/admin_body/apply-multi-tenant"
printf '{"notify": true}' >"$corpus/admin_body/rotate-notify"
printf '{}' >"$corpus/admin_body/rotate-empty"
printf ' \n' >"$corpus/admin_body/rotate-blank"

for t in sip_message sdp config admin_body; do
  echo "fuzz/seed.sh: $t: $(find "$corpus/$t" -type f | wc -l) inputs"
done
