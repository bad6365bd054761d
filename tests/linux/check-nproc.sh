#!/bin/sh
# Judge a Linux boot log: Linux's nproc (/init's "linux-nproc: N") equals the number of vCPUs
# mhv gave the guest ("mhv: smp: N vCPU(s)"; without that line, one), or the guest's nr_cpus=
# ("linux-nr_cpus: K") when that is fewer.
#   tests/linux/check-nproc.sh SERIAL-LOG   ->  "ok TEXT" or "not-ok TEXT" (one line)
log=$1
want=$(tr -d '\r' <"$log" | sed -n 's/^mhv: smp: \([0-9]*\) vCPU(s).*/\1/p' | head -n1)
[ -n "$want" ] || want=1
limit=$(tr -d '\r' <"$log" | sed -n 's/^linux-nr_cpus: \([0-9]*\)$/\1/p' | head -n1)
[ -n "$limit" ] && [ "$limit" -lt "$want" ] && want=$limit
got=$(tr -d '\r' <"$log" | sed -n 's/^linux-nproc: \([0-9]*\)$/\1/p' | head -n1)
if [ -z "$got" ]; then
	echo "not-ok the guest printed no linux-nproc line"
elif [ "$got" = "$want" ]; then
	echo "ok Linux runs on $got CPU(s): all mhv gave it, up to its nr_cpus= (nproc)"
else
	echo "not-ok Linux's nproc is $got, mhv has $want vCPU(s)"
fi
