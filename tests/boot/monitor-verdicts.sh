#!/bin/sh
# The monitor driver's verdicts (tests/boot/monitor-drive.py) beside the serial log.
verdicts="${1%.serial.log}.monitor.txt"
if [ -s "$verdicts" ]; then cat "$verdicts"; else echo "not-ok monitor: the driver left no verdicts"; fi
