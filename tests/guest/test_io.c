/* Port I/O passed through to real devices (CMOS RTC, PIT), and COM1 as mhv virtualises it. */
#include "arch/x86/io.h"
#include "core/hypercall_abi.h"
#include "lib/fmt.h"
#include "tests/guest/hv.h"
#include "tests/guest/report.h"
#include "tests/guest/serial.h"
#include "tests/guest/tests.h"

#define CMOS_INDEX    0x70
#define CMOS_DATA     0x71
#define RTC_SECONDS   0x00
#define RTC_MINUTES   0x02
#define RTC_HOURS     0x04
#define RTC_STATUS_A  0x0A
#define RTC_STATUS_B  0x0B
#define RTC_STATUS_D  0x0D
#define RTC_A_UIP     0x80 /* update in progress: time registers are changing */
#define RTC_B_24H     0x02
#define RTC_B_BINARY  0x04
#define RTC_D_VRT     0x80 /* valid RAM and time: battery good */
#define RTC_HOUR_PM   0x80 /* 12-hour mode */
#define RTC_UIP_POLLS 100000

#define PIT_CH2_DATA	  0x42
#define PIT_CMD		  0x43
#define PIT_CMD_CH2_MODE0 0xB0 /* channel 2, lobyte/hibyte, mode 0 (count down once), binary */
#define PIT_CMD_CH2_LATCH 0x80 /* channel 2, counter latch */
#define PIT_START_COUNT	  0xFFFF
#define PIT_POLLS	  100000
#define SYS_CTRL_PORT	  0x61
#define SYS_CTRL_GATE2	  0x01 /* PIT channel 2 gate */
#define SYS_CTRL_SPEAKER  0x02 /* speaker data: keep it off */
#define POST_PORT	  0x80 /* writes here only take time: the classic I/O delay */

#define POST_PROBE_WRITES 10
#define LINE_LEN	  64

#define BCD_DIGIT	 0x0F
#define MINUTES_PER_HOUR 60
#define HOURS_PER_DAY	 24
#define HOURS_12	 12

static uint8_t cmos_read(uint8_t reg)
{
	outb(CMOS_INDEX, reg);
	return inb(CMOS_DATA);
}

static bool bcd_valid(uint8_t v)
{
	return (v & BCD_DIGIT) <= 9 && (v >> 4) <= 9;
}

static uint8_t bcd_to_bin(uint8_t v)
{
	return (uint8_t)((v >> 4) * 10 + (v & BCD_DIGIT));
}

static void test_cmos(void)
{
	uint8_t d = cmos_read(RTC_STATUS_D), b = cmos_read(RTC_STATUS_B);
	uint8_t sec, min, hour, hour_raw;
	bool valid = true;
	uint32_t i;

	check(d & RTC_D_VRT, "io: CMOS register D reports valid RAM and time", "reg D 0x%x", d);

	for (i = 0; i < RTC_UIP_POLLS && (cmos_read(RTC_STATUS_A) & RTC_A_UIP); i++)
		outb(POST_PORT, 0);
	sec = cmos_read(RTC_SECONDS);
	min = cmos_read(RTC_MINUTES);
	hour = hour_raw = cmos_read(RTC_HOURS);
	if (!(b & RTC_B_24H))
		hour &= (uint8_t)~RTC_HOUR_PM;
	if (!(b & RTC_B_BINARY)) {
		valid = bcd_valid(sec) && bcd_valid(min) && bcd_valid(hour);
		sec = bcd_to_bin(sec);
		min = bcd_to_bin(min);
		hour = bcd_to_bin(hour);
	}
	if (b & RTC_B_24H)
		valid = valid && hour < HOURS_PER_DAY;
	else
		valid = valid && hour >= 1 && hour <= HOURS_12;
	valid = valid && sec < MINUTES_PER_HOUR && min < MINUTES_PER_HOUR;
	gprintf("guest: RTC time %02u:%02u:%02u (register B 0x%x)\n", hour, min, sec, b);
	check(valid, "io: CMOS RTC holds a valid time",
	      "hour 0x%x, minutes %u, seconds %u, reg B 0x%x", hour_raw, min, sec, b);
}

static uint16_t pit_ch2_read(void)
{
	uint8_t lo, hi;

	outb(PIT_CMD, PIT_CMD_CH2_LATCH);
	lo = inb(PIT_CH2_DATA);
	hi = inb(PIT_CH2_DATA);
	return (uint16_t)(hi << 8 | lo);
}

/* Program PIT channel 2 ourselves (firmware may have left it anywhere) and watch it count. */
static void test_pit(void)
{
	uint8_t ctrl = inb(SYS_CTRL_PORT);
	uint16_t first, now = 0;
	uint32_t i;

	outb(SYS_CTRL_PORT, (uint8_t)((ctrl & ~SYS_CTRL_SPEAKER) | SYS_CTRL_GATE2));
	outb(PIT_CMD, PIT_CMD_CH2_MODE0);
	outb(PIT_CH2_DATA, PIT_START_COUNT & 0xFF);
	outb(PIT_CH2_DATA, PIT_START_COUNT >> 8);
	first = pit_ch2_read();
	for (i = 0; i < PIT_POLLS; i++) {
		now = pit_ch2_read();
		if (now < first)
			break;
	}
	outb(SYS_CTRL_PORT, ctrl);
	check(now < first, "io: PIT channel 2 counts down", "counter stayed at 0x%x (then 0x%x)",
	      first, now);
}

/* Every byte to the virtualised UART's THR is an I/O exit. */
static void test_uart_exits(void)
{
	char line[LINE_LEN];
	int len = fmt_snprintf(line, sizeof(line), "guest: counting I/O exits for this line\n");
	uint32_t before = hv_exit_count(EXIT_KIND_IO), after;

	gprintf("%s", line);
	after = hv_exit_count(EXIT_KIND_IO);
	check(after - before >= (uint32_t)len, "io: each COM1 byte counts an I/O exit",
	      "%u exits for %d bytes", after - before, len);

	/* Port 0x80 is passed through: whether it exits is mhv's choice, so only report it. */
	before = hv_exit_count(EXIT_KIND_IO);
	for (uint32_t i = 0; i < POST_PROBE_WRITES; i++)
		outb(POST_PORT, 0);
	after = hv_exit_count(EXIT_KIND_IO);
	gprintf("guest: %u writes to port 0x80 counted %u I/O exits\n", POST_PROBE_WRITES,
		after - before);
}

void test_io(void)
{
	test_cmos();
	test_pit();
	check_eq("io: COM1 THRE never timed out", serial_timeouts(), 0);
	if (hv_present())
		test_uart_exits();
}
