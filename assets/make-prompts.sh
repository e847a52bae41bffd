#!/usr/bin/env bash
# Regenerates the built-in prompts in assets/prompts/ (all of them, every run).
#
#   assets/make-prompts.sh
#
# Speech is espeak-ng's English voice, converted with sox to the one format the engine
# plays: WAV, 8000 Hz, mono, 16-bit signed PCM. Needs the Debian packages `espeak-ng` and
# `sox`. Output is reproducible (sox -R): running it again gives the same bytes for the same
# tool versions. Runs from any working directory.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="$here/prompts"
voice="${ESPEAK_VOICE:-en-us}"
speed="${ESPEAK_SPEED:-150}" # words per minute; a little slower than espeak's 175, for phones

for tool in espeak-ng sox soxi; do
  command -v "$tool" >/dev/null 2>&1 || {
    echo "make-prompts.sh: $tool not found; install it: apt-get install espeak-ng sox" >&2
    exit 1
  }
done

tmp="$(mktemp -d "${TMPDIR:-/tmp}/pbx-prompts.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"

# to_engine IN OUT: the engine format.
to_engine() {
  sox -R "$1" -r 8000 -c 1 -b 16 -e signed-integer "$2"
}

# say NAME TEXT: speech only, as $tmp/NAME.wav in the engine format.
say() {
  espeak-ng -v "$voice" -s "$speed" -w "$tmp/$1.raw.wav" "$2"
  to_engine "$tmp/$1.raw.wav" "$tmp/$1.wav"
}

# prompt NAME TEXT: assets/prompts/NAME.wav.
prompt() {
  say "$1" "$2"
  cp "$tmp/$1.wav" "$out/$1.wav"
}

prompt impatient_offer "All our operators are busy. Press 1 to be called back, press 2 to keep waiting, press 3 to leave a message."
prompt after_hours "We are closed now. Please call back during working hours."
prompt invalid_choice "Sorry, that is not a valid choice."
prompt callback_confirmed "Thank you. We will call you back as soon as an operator is free."
prompt menu_example "For sales press 1, for support press 2, or stay on the line."
prompt welcome "Thank you for calling. Please hold while we connect you."

# The voicemail greeting ends with the tone: a short pause, then 1 kHz for 0.3 s.
say voicemail_speech "Please leave a message after the tone."
sox -R -n -r 8000 -c 1 -b 16 -e signed-integer "$tmp/pause.wav" trim 0 0.4
sox -R -n -r 8000 -c 1 -b 16 -e signed-integer "$tmp/beep.wav" synth 0.3 sine 1000 vol 0.5 fade 0.005 0.3 0.005
# espeak-ng's own trailing silence is cut first, so the pause before the tone is exactly 0.4 s.
sox -R "$tmp/voicemail_speech.wav" "$tmp/voicemail_trimmed.wav" reverse silence 1 0.01 0.5% reverse
sox -R "$tmp/voicemail_trimmed.wav" "$tmp/pause.wav" "$tmp/beep.wav" "$tmp/voicemail_joined.wav"
to_engine "$tmp/voicemail_joined.wav" "$out/voicemail_greeting.wav"

# Check every file is in the engine format.
status=0
for f in "$out"/*.wav; do
  rate=$(soxi -r "$f"); channels=$(soxi -c "$f"); bits=$(soxi -b "$f"); enc=$(soxi -e "$f")
  if [ "$rate" = 8000 ] && [ "$channels" = 1 ] && [ "$bits" = 16 ] && [ "$enc" = "Signed Integer PCM" ]; then
    printf '%-24s %s  %6s bytes\n' "$(basename "$f")" "$(soxi -d "$f")" "$(wc -c <"$f")"
  else
    echo "make-prompts.sh: $f is $rate Hz, $channels channels, $bits bits, $enc" >&2
    status=1
  fi
done
exit "$status"
