#!/usr/bin/env bash
# Regenerates the built-in prompts (all of them, every run):
#
#   assets/prompts/en/<name>.wav   English, espeak-ng (voice en-us)
#   assets/prompts/ru/<name>.wav   Russian, festival with festvox-ru (voice msu_ru_nsh_clunits)
#   assets/prompts/examples/<name>.wav  the example configs' own prompts (a menu, greetings), Russian
#
#   assets/make-prompts.sh
#
# The built-in names are exactly those of `media::sound::Builtin` (the engine embeds the files
# with include_bytes!): voicemail_greeting, after_hours, invalid_choice, please_hold,
# impatient_offer, callback_confirmed, callback_number, callback_confirm, callback_enter,
# callback_announce, digit_0 ... digit_9. The voicemail greeting ends with its
# tone: 0.4 s of silence, then 1 kHz for 0.3 s.
#
# Every file is converted with sox to the one format the engine plays: WAV, 8000 Hz, mono, 16-bit
# signed PCM; leading and trailing silence is trimmed (50 ms kept at each end). Needs the Debian
# packages `espeak-ng festival festvox-ru sox`:
#
#   apt-get install festival festvox-ru espeak-ng sox
#
# If festvox-ru cannot be installed, RU_ENGINE=espeak makes the Russian prompts with
# `espeak-ng -v ru` instead (they sound worse; festival is what the committed files were made
# with). Output is reproducible (sox -R, and neither synthesiser is random): running it again
# gives the same bytes for the same tool versions. Runs from any working directory.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="$here/prompts"
examples="$here/prompts/examples"
en_voice="${ESPEAK_VOICE:-en-us}"
speed="${ESPEAK_SPEED:-150}" # words per minute; a little slower than espeak's 175, for phones
ru_engine="${RU_ENGINE:-festival}"
ru_voice="msu_ru_nsh_clunits"

need() {
  command -v "$1" >/dev/null 2>&1 || {
    echo "make-prompts.sh: $1 not found; install it: apt-get install festival festvox-ru espeak-ng sox" >&2
    exit 1
  }
}
for tool in espeak-ng sox soxi; do need "$tool"; done
case "$ru_engine" in
  festival)
    need text2wave
    [ -d "/usr/share/festival/voices/russian/$ru_voice" ] || {
      echo "make-prompts.sh: the festival voice $ru_voice is missing; install it: apt-get install festvox-ru" >&2
      echo "make-prompts.sh: (or run with RU_ENGINE=espeak to use espeak-ng -v ru)" >&2
      exit 1
    }
    ;;
  espeak) ;;
  *) echo "make-prompts.sh: RU_ENGINE is festival or espeak, not $ru_engine" >&2; exit 1 ;;
esac

tmp="$(mktemp -d "${TMPDIR:-/tmp}/pbx-prompts.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out/en" "$out/ru" "$examples"

# synth LANG NAME TEXT: raw speech, as $tmp/LANG-NAME.raw.wav (whatever rate the synthesiser uses).
synth() {
  local raw="$tmp/$1-$2.raw.wav"
  case "$1" in
    en) espeak-ng -v "$en_voice" -s "$speed" -w "$raw" "$3" ;;
    ru)
      if [ "$ru_engine" = festival ]; then
        # festvox-ru's letter-to-sound rules have no entry for a dash: it is spoken as a pause.
        printf '%s\n' "${3// — /, }" >"$tmp/$1-$2.txt"
        text2wave -eval "(voice_$ru_voice)" "$tmp/$1-$2.txt" -o "$raw"
      else
        espeak-ng -v ru -s "$speed" -w "$raw" "$3"
      fi
      ;;
  esac
}

# speech LANG NAME TEXT: speech trimmed of silence at both ends, in the engine format, as
# $tmp/LANG-NAME.wav.
speech() {
  synth "$1" "$2" "$3"
  sox -R "$tmp/$1-$2.raw.wav" -r 8000 -c 1 -b 16 -e signed-integer "$tmp/$1-$2.wav" \
    silence 1 0.01 0.5% reverse silence 1 0.01 0.5% reverse
}

# prompt LANG NAME TEXT [OUT]: speech with 50 ms of silence at each end, as OUT (default
# assets/prompts/LANG/NAME.wav).
prompt() {
  speech "$1" "$2" "$3"
  sox -R "$tmp/$1-$2.wav" "${4:-$out/$1/$2.wav}" pad 0.05 0.05
}

# greeting LANG TEXT [OUT]: a voicemail greeting: the speech, exactly 0.4 s of silence, then the
# tone (1 kHz for 0.3 s), as OUT (default assets/prompts/LANG/voicemail_greeting.wav).
greeting() {
  speech "$1" voicemail_speech "$2"
  sox -R -n -r 8000 -c 1 -b 16 -e signed-integer "$tmp/pause.wav" trim 0 0.4
  sox -R -n -r 8000 -c 1 -b 16 -e signed-integer "$tmp/beep.wav" synth 0.3 sine 1000 vol 0.5 fade 0.005 0.3 0.005
  sox -R "$tmp/$1-voicemail_speech.wav" "$tmp/pause.wav" "$tmp/beep.wav" \
    "${3:-$out/$1/voicemail_greeting.wav}" pad 0.05 0.05
}

greeting en "Please leave a message after the tone."
prompt en after_hours "We are closed now. Please call back during working hours."
prompt en invalid_choice "Sorry, that is not a valid choice."
prompt en please_hold "Please stay on the line."
prompt en impatient_offer "All our operators are busy. Press 1 to be called back, press 2 to keep waiting, press 3 to leave a message."
prompt en callback_confirmed "Thank you. We will call you back as soon as an operator is free."
prompt en callback_number "We will call you back at the number"
prompt en callback_confirm "To confirm, press 1. To give another number, press 2."
prompt en callback_enter "Please enter the number to call you back at, then press the hash key."
prompt en callback_announce "A callback to a customer who waited. Calling the number"
en_digits=(zero one two three four five six seven eight nine)
for d in 0 1 2 3 4 5 6 7 8 9; do prompt en "digit_$d" "${en_digits[$d]}"; done

greeting ru "Оставьте сообщение после сигнала."
prompt ru after_hours "Сейчас мы не работаем. Пожалуйста, позвоните в рабочее время."
prompt ru invalid_choice "Неверный выбор."
prompt ru please_hold "Пожалуйста, оставайтесь на линии."
prompt ru impatient_offer "Все операторы заняты. Нажмите один, чтобы мы вам перезвонили, два — чтобы продолжить ожидание, три — чтобы оставить сообщение."
prompt ru callback_confirmed "Спасибо. Мы перезвоним вам, как только оператор освободится."
prompt ru callback_number "Мы перезвоним вам по номеру"
prompt ru callback_confirm "Чтобы подтвердить, нажмите один. Чтобы назвать другой номер, нажмите два."
prompt ru callback_enter "Наберите номер, по которому вам перезвонить, и нажмите решётку."
prompt ru callback_announce "Обратный звонок клиенту, который ждал ответа. Набираю номер"
ru_digits=(ноль один два три четыре пять шесть семь восемь девять)
for d in 0 1 2 3 4 5 6 7 8 9; do prompt ru "digit_$d" "${ru_digits[$d]}"; done

# The example configs' own prompts (examples/*.yaml name them; not built in). The example
# companies are Russian, so these are too. The menu matches examples/call-centre.yaml's `main`.
prompt ru menu_example "Здравствуйте! Отдел продаж — нажмите четыре. Первая линия — пять. Эскалация — девять. Руководитель — ноль. Или наберите внутренний номер." "$examples/menu_example.wav"
prompt ru welcome "Спасибо за звонок. Пожалуйста, оставайтесь на линии, мы соединяем вас с оператором." "$examples/welcome.wav"
greeting ru "Вы позвонили в службу поддержки. Оставьте сообщение после сигнала, и мы вам перезвоним." "$examples/voicemail_greeting.wav"

# Check every file is in the engine format.
status=0
for f in "$out"/en/*.wav "$out"/ru/*.wav "$examples"/*.wav; do
  rate=$(soxi -r "$f"); channels=$(soxi -c "$f"); bits=$(soxi -b "$f"); enc=$(soxi -e "$f")
  if [ "$rate" = 8000 ] && [ "$channels" = 1 ] && [ "$bits" = 16 ] && [ "$enc" = "Signed Integer PCM" ]; then
    printf '%-34s %s  %6s bytes\n' "${f#"$here/"}" "$(soxi -d "$f")" "$(wc -c <"$f")"
  else
    echo "make-prompts.sh: $f is $rate Hz, $channels channels, $bits bits, $enc" >&2
    status=1
  fi
done
exit "$status"
