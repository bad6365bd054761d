/*
 * A tiny static program for the Linux boot test's initramfs: exits 0 when CPUID leaf
 * 0x40000000 names mhv ("mhvmhvmhv"), 1 otherwise.  Built with gcc -static -nostdlib: no
 * libc, two system calls.
 */
#define SYS_WRITE     1
#define SYS_EXIT      60
#define HV_LEAF	      0x40000000u
#define HV_NAME_BYTES 12

static long syscall3(long nr, long a, long b, long c)
{
	long ret;

	__asm__ volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
	return ret;
}

static void say(const char *s)
{
	unsigned long n = 0;

	while (s[n])
		n++;
	syscall3(SYS_WRITE, 1, (long)s, (long)n);
}

void _start(void)
{
	unsigned int a = HV_LEAF, b, c, d;
	char name[HV_NAME_BYTES + 2];
	const char *want = "mhvmhvmhv";
	int ok = 1;

	__asm__ volatile("cpuid" : "+a"(a), "=b"(b), "=c"(c), "=d"(d));
	for (int i = 0; i < 4; i++) {
		name[i] = (char)(b >> (8 * i));
		name[4 + i] = (char)(c >> (8 * i));
		name[8 + i] = (char)(d >> (8 * i));
	}
	name[HV_NAME_BYTES] = '\n';
	name[HV_NAME_BYTES + 1] = '\0';
	for (int i = 0; i < 9; i++)
		ok &= name[i] == want[i];
	for (int i = 0; i < HV_NAME_BYTES; i++)
		if (name[i] < ' ' || name[i] > '~')
			name[i] = '.';
	say("hvcheck: CPUID 0x40000000 vendor ");
	say(name);
	syscall3(SYS_EXIT, ok ? 0 : 1, 0, 0);
	for (;;)
		;
}
