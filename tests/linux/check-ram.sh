#!/bin/sh
# Judge a Linux boot log: no "System RAM" range the guest reported (/init's "linux-ram: A-B"
# lines, from /proc/iomem) may overlap mhv's range (mhv's "mhv's [A-B) is hidden" line).
#   tests/linux/check-ram.sh SERIAL-LOG   ->  "ok TEXT" or "not-ok TEXT" (one line)
log=$1
hv=$(tr -d '\r' <"$log" | sed -n "s/^mhv: guest: .*mhv's \[\(0x[0-9a-f]*\)-\(0x[0-9a-f]*\)) is hidden.*/\1 \2/p" | head -n1)
[ -n "$hv" ] || { echo "not-ok no line gives mhv's range"; exit 0; }
tr -d '\r' <"$log" | sed -n 's/^linux-ram: \([0-9a-f]*\)-\([0-9a-f]*\)$/\1 \2/p' |
	awk -v hv="$hv" '
	function hex(s,  i, c, v) { v = 0; s = tolower(s); sub(/^0x/, "", s)
		for (i = 1; i <= length(s); i++) { c = index("0123456789abcdef", substr(s, i, 1)) - 1; v = v * 16 + c }
		return v }
	BEGIN { split(hv, r, " "); lo = hex(r[1]); hi = hex(r[2]) }
	{ n++; a = hex($1); b = hex($2) + 1; if (a < hi && b > lo) bad = bad " " $1 "-" $2 }
	END {
		if (!n) print "not-ok the guest reported no System RAM (no linux-ram lines)"
		else if (bad != "") print "not-ok guest RAM overlaps mhv'\''s range " r[1] "-" r[2] ":" bad
		else print "ok " n " System RAM range(s) in the guest, none overlaps mhv'\''s " r[1] "-" r[2]
	}'
