#!/usr/bin/env bash
#
# cli_polish.sh - the `hangar` CLI's shell completion, manual pages,
# -o yaml|wide and --watch, against a real hangard:
#   - completion: the bash script is sourced and its function run with
#     COMP_LINE/COMP_WORDS set as bash sets them (nouns, verbs, options,
#     fixed values, VM and host names asked of hangard, nothing and no
#     error when hangard is down); every row of the command table (the
#     usage lines of `hangar --help`) is in it, and every option it offers
#     is one the command accepts; the zsh script passes `zsh -n` and its
#     function, run with words/CURRENT and compadd stubbed, offers the same;
#   - man pages: build/man/hangar.1 and hangard.8 pass `groff -ww` and
#     `mandoc -T lint -W warning`; hangar.1 names every command, hangard.8
#     every config key of src/daemon/config.c and every option of
#     src/daemon/config_args.c;
#   - -o yaml reads back (python3-yaml) as what -o json prints; -o wide
#     adds columns;
#   - `vm list --watch` and `op list --watch` (stdout a file): a VM created
#     meanwhile appears in a later table of the same process; after
#     hangard restarts the watch reconnects and sees the next VM; SIGINT
#     ends it with status 0.
#
# Usage: BUILD=build tests/integration/cli_polish.sh
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tests/lib/testlib.sh
. tests/lib/testlib.sh

t_init polish
hangard_start || t_summary

H=$BUILD/hangar
A=${T_PFX}a
B=${T_PFX}b
C=${T_PFX}c
export HANGAR_URL="unix:$HANGARD_SOCK"

# comp LINE: run the bash completion function as bash would for LINE (the
# cursor at its end); prints the candidates, one a line, sorted.
comp() {
	local line=${1/#hangar /$H }
	bash -c '
		source "$1"
		COMP_LINE=$2; COMP_POINT=${#COMP_LINE}
		read -ra COMP_WORDS <<<"$COMP_LINE"
		[[ $COMP_LINE == *" " ]] && COMP_WORDS+=("")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		[ -n "${3:-}" ] && unset COMP_LINE COMP_POINT
		_hangar
		printf "%s\n" "${COMPREPLY[@]}"' _ "$BUILD/completion/hangar.bash" "$line" "${2:-}" |
		sed '/^$/d' | sort
}

# zcomp WORD...: the zsh function with words=(WORD...), CURRENT the last
# (a first word "hangar" is $H); compadd prints what it gets that starts
# with the word, as zsh would offer, and _files prints <files>
zcomp() {
	[ "$1" = hangar ] && set -- "$H" "${@:2}"
	zsh -f -c '
		compdef() { :; }
		compadd() { local -a c; while [[ $1 == -* && $1 != -- && $1 != -a ]]; do shift; done
			if [[ $1 == -a ]]; then c=(${(P)2}); else shift; c=("$@"); fi
			print -l -- ${(M)c:#${words[CURRENT]}*}; }
		_files() { print -- "<files>"; }
		source "$1"; shift
		words=("$@"); CURRENT=$#
		_hangar' _ "$BUILD/completion/_hangar" "$@" | sed '/^$/d' | sort
}

lines() { printf '%s\n' "$@" | sort; }

# ------------------------------------------------------------ completion
t_check "bash completion script parses (bash -n)" bash -n "$BUILD/completion/hangar.bash"
t_check "generated script is what 'hangar completion bash' prints" \
	cmp -s "$BUILD/completion/hangar.bash" <("$H" completion bash)
t_check "zsh completion script parses (zsh -n)" zsh -n "$BUILD/completion/_hangar"

# every row of the command table: `hangar --help` prints each usage line,
# "  hangar NOUN VERB ..." (a verb is a lower-case word) or "  hangar NOUN ..."
mapfile -t CMDS < <("$H" --help | awk '/^  hangar / {
	if ($3 ~ /^[a-z]+$/) print $2 " " $3; else print $2 }')
t_check "hangar --help lists the commands (${#CMDS[@]})" test "${#CMDS[@]}" -gt 60
missing=''
for c in "${CMDS[@]}"; do
	grep -qF "_hangar_opts['$c']=" "$BUILD/completion/hangar.bash" || missing="$missing '$c'"
done
t_eq "every command of the table is in the completion" "$missing" ""
missing=''
for noun in $(printf '%s\n' "${CMDS[@]}" | awk 'NF == 2 { print $1 }' | sort -u); do
	want=$(printf '%s\n' "${CMDS[@]}" | awk -v n="$noun" '$1 == n { print $2 }' | sort)
	got=$(comp "hangar $noun ")
	[ "$got" = "$want" ] || missing="$missing $noun:[$(echo $got)]"
done
t_eq "hangar NOUN <TAB> offers exactly the noun's verbs" "$missing" ""

# every option the completion offers is one the command takes
bad=''
while IFS= read -r line; do
	key=${line#_hangar_opts[\'}
	key=${key%%\']=*}
	opts=${line#*=\'}
	opts=${opts%\'}
	for o in $opts; do
		case $o in --help | --watch) continue ;; esac
		args=($key "$o")
		grep -qF "_hangar_val['$key $o']" "$BUILD/completion/hangar.bash" && args+=(x)
		err=$(timeout 10 "$H" --url unix:/nonexistent "${args[@]}" </dev/null 2>&1 >/dev/null)
		case $err in *"invalid option '$o'"* | *"invalid option '-${o#-}'"*) bad="$bad '$key $o'" ;; esac
	done
done < <(grep "^_hangar_opts\[" "$BUILD/completion/hangar.bash")
t_eq "every option offered is accepted by its command" "$bad" ""

t_eq "hangar <TAB> offers the nouns" "$(comp 'hangar ' | tr '\n' ' ')" \
	"$(lines backup completion disk env events group host image manual network op place plan snapshot version vm | tr '\n' ' ')"
t_eq "hangar vm st<TAB>" "$(comp 'hangar vm st' | tr '\n' ' ')" "start stop "
t_eq "-o <TAB>: the formats" "$(comp 'hangar -o ' | tr '\n' ' ')" "json table wide yaml "
t_eq "vm migrate VM --copy-storage <TAB>" "$(comp 'hangar vm migrate x --copy-storage ' | tr '\n' ' ')" "auto no yes "
t_eq "host maintenance H <TAB>" "$(comp 'hangar host maintenance h ' | tr '\n' ' ')" "off on "
t_match "vm migrate VM --<TAB> offers its options" "$(comp 'hangar vm migrate x --' | tr '\n' ' ')" \
	"--cancel-on-interrupt .*--copy-storage .*--to "
t_eq "vm list --w<TAB>: --watch" "$(comp 'hangar vm list --w')" "--watch"
t_eq "vm start VM <TAB>: no second operand" "$(comp 'hangar vm start x ')" ""

# names asked of hangard
"$H" vm create "$A" --vcpus 1 --memory 64 --disk 1 >/dev/null 2>"$T_TMP/err" ||
	t_fail "vm create $A" "$(cat "$T_TMP/err")"
HOSTS=$("$H" -o json host list | jq -r '.hosts[].name' | sort)
t_eq "vm start <TAB>: the VM names" "$(comp 'hangar vm start ')" "$A"
t_eq "vm start p<TAB> (COMP_WORDS only)" "$(comp "hangar vm start ${A:0:3}" words)" "$A"
t_eq "snapshot create <TAB>: VM names" "$(comp 'hangar snapshot create ')" "$A"
t_eq "host show <TAB>: the host names" "$(comp 'hangar host show ')" "$HOSTS"
t_eq "vm migrate VM --to <TAB>: host names" "$(comp "hangar vm migrate $A --to ")" "$HOSTS"
t_eq "--url typed before the command is used (unix:... split at ':' by bash)" \
	"$(HANGAR_URL=unix:/nonexistent comp "hangar --url unix:$HANGARD_SOCK vm show ")" "$A"
t_eq "completion names vm" "$("$H" completion names vm)" "$A"
out=$("$H" --url unix:/nonexistent completion names vm 2>"$T_TMP/err")
rc=$?
t_check "completion names, hangard down: exit non-zero" test "$rc" != 0
t_eq "completion names, hangard down: no output, no error" "$out$(cat "$T_TMP/err")" ""
t_eq "vm start <TAB>, hangard down: nothing, no error" \
	"$(HANGAR_URL=unix:/nonexistent comp 'hangar vm start ' 2>&1)" ""
t_eq "zsh: hangar vm st<TAB>" "$(zcomp hangar vm st | tr '\n' ' ')" "start stop "
t_eq "zsh: vm start <TAB>: VM names from hangard" "$(zcomp hangar vm start '')" "$A"
t_eq "zsh: -o <TAB>" "$(zcomp hangar -o '' | tr '\n' ' ')" "json table wide yaml "
t_eq "zsh: image export NAME <TAB>: files" "$(zcomp hangar image export x '')" "<files>"

# ------------------------------------------------------------ man pages
for page in "$BUILD/man/hangar.1" "$BUILD/man/hangard.8"; do
	t_eq "groff -ww: $(basename "$page") has no warning" \
		"$(groff -ww -z -man "$page" 2>&1)" ""
	t_eq "mandoc -T lint: $(basename "$page") has no warning" \
		"$(mandoc -T lint -W warning "$page" 2>&1)" ""
done
t_check "hangar.1 is what 'hangar manual' prints" cmp -s "$BUILD/man/hangar.1" <("$H" manual)
missing=''
for c in "${CMDS[@]}"; do
	grep -q "^$c\b" "$BUILD/man/hangar.1" || missing="$missing '$c'"
done
t_eq "hangar.1 documents every command" "$missing" ""
missing=''
for k in $(grep -oE 'CONFIG_(STR|INT)\("[a-z_]+"' src/daemon/config.c | cut -d'"' -f2); do
	grep -qE "(^|[^a-z_])$k([^a-z_]|\$)" "$BUILD/man/hangard.8" || missing="$missing $k"
done
t_eq "hangard.8 documents every config key" "$missing" ""
t_check "config.c has keys (the check above is not empty)" \
	test "$(grep -cE 'CONFIG_(STR|INT)\("' src/daemon/config.c)" -gt 20
missing=''
for o in $(sed -n '/^static const struct option/,/^};/p' src/daemon/config_args.c |
	grep -oE '\{ "[a-z-]+"' | cut -d'"' -f2); do
	grep -qF -- "\\-\\-${o//-/\\-}" "$BUILD/man/hangard.8" || missing="$missing --$o"
done
t_eq "hangard.8 documents every option of hangard" "$missing" ""

# ------------------------------------------------------------ -o yaml, wide
# same: -o yaml of ARGS reads back as -o json of ARGS
same() {
	local name=$1 j y
	shift
	j=$("$H" -o json "$@") && y=$("$H" -o yaml "$@") ||
		{ t_fail "$name" "hangar $* failed"; return; }
	t_check "$name" python3 -c '
import json, sys, yaml
sys.exit(0 if json.dumps(json.loads(sys.argv[1]), sort_keys=True) ==
    json.dumps(yaml.safe_load(sys.argv[2]), sort_keys=True) else 1)' "$j" "$y"
}
same "-o yaml vm show reads back as -o json" vm show "$A"
same "-o yaml vm list reads back as -o json" vm list
same "-o yaml op list reads back as -o json" op list
"$H" -o json events >"$T_TMP/ev.json"
"$H" -o yaml events >"$T_TMP/ev.yaml"
t_check "-o yaml events: a YAML document per event, as -o json's lines" python3 -c '
import json, sys, yaml
j = [json.loads(l) for l in open(sys.argv[1])]
y = list(yaml.safe_load_all(open(sys.argv[2])))
sys.exit(0 if len(j) > 0 and y[:len(j)] == j else 1)' "$T_TMP/ev.json" "$T_TMP/ev.yaml"
wide=$("$H" -o wide vm list)
t_match "-o wide vm list: more columns" "$(head -1 <<<"$wide")" "^NAME .* ID .* GROUP .* FIRMWARE .* CREATED$"
t_match "-o wide vm list: the VM's row" "$wide" "$A .* [0-9]{4}-[0-9]{2}-[0-9]{2}T"
t_check_not "-o table vm list has no CREATED column" grep -q CREATED <<<"$("$H" vm list)"
"$H" -o xml vm list >/dev/null 2>"$T_TMP/err"
t_eq "-o xml: exit 2" "$?" 2
t_match "-o xml: names the formats" "$(cat "$T_TMP/err")" "table, wide, json or yaml"

# ------------------------------------------------------------ --watch
"$H" vm show "$A" --watch >/dev/null 2>&1
t_eq "--watch on a command that is no list: exit 2" "$?" 2
timeout 10 "$H" vm list --watch --bogus >/dev/null 2>"$T_TMP/err"
t_eq "vm list --watch --bogus: exit 2 at once" "$?" 2

"$H" vm list --watch >"$T_TMP/watch.out" 2>"$T_TMP/watch.err" &
WPID=$!
"$H" op list --watch >"$T_TMP/opwatch.out" 2>"$T_TMP/opwatch.err" &
OPID=$!
t_check "vm list --watch prints the list" t_wait_for 15 grep -q "^$A " "$T_TMP/watch.out"
t_check "op list --watch prints the list" t_wait_for 15 grep -q "^ID " "$T_TMP/opwatch.out"
n0=$(grep -c '^NAME ' "$T_TMP/watch.out")
"$H" vm create "$B" --vcpus 1 --memory 64 --disk 1 >/dev/null 2>"$T_TMP/err" ||
	t_fail "vm create $B" "$(cat "$T_TMP/err")"
t_check "the new VM appears in the watched list" t_wait_for 15 grep -q "^$B " "$T_TMP/watch.out"
t_check "... in a later table of the same process" test "$(grep -c '^NAME ' "$T_TMP/watch.out")" -gt "$n0"
t_check "... which still runs" kill -0 "$WPID"
t_check "tables are separated by a blank line" grep -q '^$' "$T_TMP/watch.out"
t_check "op list --watch shows the create of $B" \
	t_wait_for 15 grep -q "create .* $B " "$T_TMP/opwatch.out"

# a restart of hangard: the watch reconnects and goes on
hangard_stop
hangard_start || t_summary
t_check "the watch says it reconnected" t_wait_for 20 grep -q reconnected "$T_TMP/watch.err"
"$H" vm create "$C" --vcpus 1 --memory 64 --disk 1 >/dev/null 2>"$T_TMP/err" ||
	t_fail "vm create $C" "$(cat "$T_TMP/err")"
t_check "after the restart a new VM still appears" t_wait_for 15 grep -q "^$C " "$T_TMP/watch.out"
t_check "... in the same process" kill -0 "$WPID"

kill -INT "$WPID" "$OPID"
wait "$WPID"
t_eq "SIGINT ends vm list --watch with status 0" "$?" 0
wait "$OPID"
t_eq "SIGINT ends op list --watch with status 0" "$?" 0
t_eq "the watch printed no error" "$(grep -v -e 'connecting again' -e reconnected "$T_TMP/watch.err")" ""

# -o yaml --watch: the lists are the documents of one YAML stream
"$H" -o yaml vm list --watch >"$T_TMP/ywatch.out" 2>&1 &
YPID=$!
t_check "-o yaml vm list --watch prints the list" t_wait_for 15 grep -q "name: $A" "$T_TMP/ywatch.out"
kill -INT "$YPID"
wait "$YPID"
t_eq "-o yaml vm list --watch: SIGINT, status 0" "$?" 0
t_check "-o yaml vm list --watch: a YAML stream of VM lists" python3 -c '
import sys, yaml
docs = list(yaml.safe_load_all(open(sys.argv[1])))
sys.exit(0 if docs and all("vms" in d for d in docs) else 1)' "$T_TMP/ywatch.out"

# on a terminal: each redraw clears the screen and names the command
out=$(python3 tests/lib/ptyrun.py --timeout 20 "$H vm list --watch" 'wait:\(Ctrl-C ends\)[\s\S]*'"$A" 'send:\x03')
t_match "on a terminal: screen cleared, a heading line" "$out" $'\e\\[H\e\\[2Jhangar vm list --watch'

t_summary
