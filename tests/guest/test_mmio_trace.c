/*
 * A filtered trace region (mmio=trace@...,off=0x10-0x1f,writes,limit=2 in the test ISOs):
 * every access is forwarded and counted, whatever the filter logs.  The log lines and the
 * end-of-run summary are judged by tests/boot/NAME.expect.  Paging off on entry.
 */
#include <stdbool.h>
#include <stdint.h>

#include "core/hypercall_abi.h"
#include "tests/guest/cpu.h"
#include "tests/guest/hv.h"
#include "tests/guest/report.h"
#include "tests/guest/tests.h"

#define MAX_REGIONS  16
#define IN_FILTER    0x10 /* inside off=0x10-0x1f */
#define OUT_OF_RANGE 0x40

/* The index and base of the first trace region, or false. */
static bool find_trace_region(uint32_t *index, uint32_t *base)
{
	for (uint32_t n = 0; n < MAX_REGIONS; n++) {
		struct hc_regs r = {.eax = HC_MMIO_REGION, .ebx = n};

		hc_native(&r);
		if (r.eax == (uint32_t)HC_ENOSYS)
			return false;
		if (r.ecx == MMIO_TYPE_TRACE) {
			*index = n;
			*base = r.eax;
			return true;
		}
	}
	return false;
}

static void device_counts(uint32_t index, uint32_t *reads, uint32_t *writes)
{
	struct hc_regs r = {.eax = HC_MMIO_DEVICE, .ebx = index};

	hc_native(&r);
	*reads = r.eax;
	*writes = r.ebx;
}

void test_mmio_trace(void)
{
	uint32_t index, base, reads0, writes0, reads, writes;

	if (!hv_present() || !find_trace_region(&index, &base)) {
		gprintf("SKIP guest: mmio trace: no trace region\n");
		return;
	}
	device_counts(index, &reads0, &writes0);
	*(volatile uint8_t *)(uintptr_t)(base + IN_FILTER) = 0x5a;
	*(volatile uint16_t *)(uintptr_t)(base + IN_FILTER) = 0x1234;
	mmio_write32(base + IN_FILTER, 0xdeadbeef);
	mmio_write32(base + IN_FILTER, 0xcafef00d);
	(void)mmio_read32(base + IN_FILTER);
	mmio_write32(base + OUT_OF_RANGE, 7);
	device_counts(index, &reads, &writes);
	check_eq("mmio trace: every read reached the device, logged or not", reads - reads0, 1);
	check_eq("mmio trace: every write reached the device, logged or not", writes - writes0, 5);
}
