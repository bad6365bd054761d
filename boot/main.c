/*
 * hv_main: mhv's C entry, called by boot/entry.S in long mode on the boot stack.
 *
 * Order matters: exceptions first (so every later bug is reported), then the boot
 * information (copied before any memory past the image is touched), then the console the
 * command line asks for, then memory.  Each step either works or says clearly why not.
 */
#include "arch/x86/acpi.h"
#include "arch/x86/ap_park.h"
#include "arch/x86/cpu.h"
#include "arch/x86/desc.h"
#include "arch/x86/iommu.h"
#include "arch/x86/paging.h"
#include "arch/x86/pci_uart.h"
#include "arch/x86/smram_lock.h"
#include "arch/x86/svm/svm.h"
#include "arch/x86/uart16550.h"
#include "arch/x86/virt_caps.h"
#include "arch/x86/vmx/vmx.h"
#include "boot/multiboot2.h"
#include "boot/multiboot2_abi.h"
#include "boot/selfcheck.h"
#include "core/bench.h"
#include "core/guest.h"
#include "core/irq_remap.h"
#include "core/mmio_setup.h"
#include "core/monitor.h"
#include "core/pci_msi_trap.h"
#include "core/msr_policy.h"
#include "core/platform_ports.h"
#include "core/run_end.h"
#include "core/vuart.h"
#include "lib/log.h"
#include "lib/options.h"
#include "core/gdbstub.h"
#include "lib/string.h"
#include "mm/frame.h"

#define MHV_VERSION    "0.1"
#define MB2_INFO_MAX   (1u << 20) /* larger blocks are treated as corrupt */
#define ERR_TEXT_MAX   160
#define MAX_EXCLUSIONS (BOOT_MODULES_MAX + 2)
#define LOW_4GIB       (4ull << 30)

static struct boot_info boot_info;
static struct hv_options options;
static struct frame_allocator machine_frames;
static struct virt_caps virt;

/* The vendor backend for what discovery found: the only place VT-x and SVM are named. */
static const struct virt_backend *virt_backend(const struct virt_caps *caps)
{
	switch (caps->kind) {
	case VIRT_VMX:
		return &vmx_backend;
	case VIRT_SVM:
		return &svm_backend;
	case VIRT_NONE:
		break;
	}
	return NULL;
}
static struct guest_start guest;

static void console_sink(const char *s, size_t n)
{
	vuart_host_write(s, n); /* shared with the guest: see core/vuart.h */
}

/* Before the command line is known, problems are reported on COM1 at 115200. */
static void __noreturn early_fatal(const char *what, const char *detail)
{
	if (!uart_port())
		uart_init(COM1_PORT, 115200);
	log_set_sink(console_sink);
	pr_err("\nmhv: FATAL: %s: %s\n", what, detail);
	hv_end_run(HV_STATUS_FAIL);
}

static void setup_console(void)
{
	log_set_level(options.loglvl);
	run_end_set_mode(options.exit_mode);
	struct pci_uart pci = {0};

	if (options.console_pci && pci_uart_find(&pci) == 0)
		options.console_port = pci.port; /* none found: no console, as console=none */
	if (!options.console_port)
		return;
	if (uart_init(options.console_port, options.baud) == 0)
		log_set_sink(console_sink);
	/* No UART at that port: stay silent rather than poke at an unknown device. */
	if (options.console_pci)
		pr_info("mhv: console: PCI UART %02x:%02x.%x (%04x:%04x) at port 0x%x\n", pci.bus,
			pci.dev, pci.fn, pci.vendor, pci.device, pci.port);
}

static void report_memory_map(void)
{
	uint64_t usable = 0;

	for (unsigned i = 0; i < boot_info.nr_mmap; i++) {
		const struct mem_region *m = &boot_info.mmap[i];
		if (m->type == MEM_USABLE)
			usable += m->len;
		pr_debug("mhv:   [0x%016lx-0x%016lx) type %u\n", m->base, m->base + m->len,
			 m->type);
	}
	pr_info("mhv: memory map: %u entries (%s), %lu MiB usable\n", boot_info.nr_mmap,
		boot_info.mmap_from_efi ? "EFI" : "multiboot2", usable >> 20);
}

static void report_modules(void)
{
	pr_info("mhv: modules: %u\n", boot_info.nr_modules);
	for (unsigned i = 0; i < boot_info.nr_modules; i++) {
		const struct boot_module *m = &boot_info.modules[i];
		pr_info("mhv:   module %u: [0x%lx-0x%lx) %lu bytes '%s'\n", i, m->start, m->end,
			m->end - m->start, m->string);
	}
}

static void setup_acpi(void)
{
	uint64_t pa;

	if (boot_info.rsdp_len) {
		if (acpi_use_rsdp_copy(boot_info.rsdp, boot_info.rsdp_len))
			pr_info("mhv: ACPI: RSDP revision %u from the loader (multiboot2 tag %u)\n",
				acpi_rsdp_revision(), boot_info.rsdp_len > 20 ? 15 : 14);
		else
			pr_err("mhv: ACPI: the loader's RSDP copy fails its checksum\n");
	} else if (acpi_scan_bios_rsdp(&pa)) {
		pr_info("mhv: ACPI: RSDP revision %u found in the BIOS area at 0x%lx\n",
			acpi_rsdp_revision(), pa);
	} else {
		pr_warn("mhv: ACPI: no RSDP (no tag 14/15 and none in the BIOS area)\n");
	}
}

static void setup_frames(void)
{
	struct phys_range excl[MAX_EXCLUSIONS];
	unsigned n = 0;
	int err;

	excl[n++] = (struct phys_range){hv_image_phys_start(), hv_image_phys_end()};
	for (unsigned i = 0; i < boot_info.nr_modules; i++)
		excl[n++] = (struct phys_range){ALIGN_DOWN(boot_info.modules[i].start, PAGE_SIZE),
						ALIGN_UP(boot_info.modules[i].end, PAGE_SIZE)};
	err = frame_init(&machine_frames, boot_info.mmap, boot_info.nr_mmap, excl, n);
	if (err)
		early_fatal("memory", "the memory map leaves no usable RAM for the machine");
	pr_info("mhv: frames: %lu MiB free in %u ranges (mhv, modules, reserved and ACPI "
		"memory excluded)\n",
		machine_frames.free_pages >> (20 - PAGE_SHIFT), machine_frames.nr);
}

/*
 * GRUB put mhv at the highest free place it saw, but on UEFI the firmware's boot-services
 * memory (free once GRUB exits them) may lie higher.  Move up when a higher 2 MiB-aligned
 * place below 4 GiB is free, so that the guest keeps one contiguous range below mhv.
 */
static uint64_t choose_home(void)
{
	uint64_t old = hv_image_phys_start(), size = hv_image_phys_end() - old;
	uint64_t pa = frame_alloc(&machine_frames, size / PAGE_SIZE, MB2_RELOC_ALIGN, LOW_4GIB);

	if (pa == FRAME_NONE || pa < old) {
		if (pa != FRAME_NONE)
			frame_free(&machine_frames, pa, size / PAGE_SIZE);
		return old;
	}
	/* The old copy stays out of machine_frames; the guest gets it back as RAM. */
	pr_info("mhv: moving from 0x%lx to 0x%lx, the top of free RAM below 4 GiB\n", old, pa);
	return pa;
}

void hv_main(uint32_t magic, uint32_t mbi_pa, uint32_t load_base);

void hv_main(uint32_t magic, uint32_t mbi_pa, uint32_t load_base)
{
	char err[ERR_TEXT_MAX];
	struct cpu_ident cpu;
	int rc;

	desc_init();
	paging_early_init(load_base);
	if (magic != MB2_BOOTLOADER_MAGIC)
		early_fatal("boot", "not started by a multiboot2 loader");

	/* The boot tables identity-map the low 4 GiB, where GRUB puts the information. */
	rc = mb2_parse(phys_to_virt(mbi_pa), MB2_INFO_MAX, &boot_info, err, sizeof(err));
	if (rc)
		early_fatal("malformed multiboot2 boot information", err);

	options_defaults(&options);
	rc = options_parse(&options, boot_info.cmdline, err, sizeof(err));
	if (rc) {
		options_defaults(&options);
		setup_console();
		early_fatal("bad command line", err);
	}
	setup_console();

	pr_info("\nmhv %s: x86-64 micro-hypervisor\n", MHV_VERSION);
	pr_info("mhv: loaded by '%s' at [0x%lx-0x%lx), command line '%s'\n", boot_info.loader_name,
		hv_image_phys_start(), hv_image_phys_end(), boot_info.cmdline);
	if (boot_info.has_load_base && boot_info.load_base != load_base)
		pr_warn("mhv: loader reports load base 0x%lx, running at 0x%x\n",
			boot_info.load_base, load_base);
	report_memory_map();
	report_modules();

	setup_frames();
	rc = paging_init(&boot_info, choose_home());
	if (rc)
		early_fatal("paging", "cannot build mhv's page tables (pool exhausted)");
	setup_acpi();
	smram_lock(); /* before any guest code: no SMM handler of the guest's making */
	/* On mhv's final tables (and, on UEFI, in its final home): the APs switch to them. */
	ap_park_all(&machine_frames);

	cpu_identify(&cpu);
	pr_info("mhv: cpu: %s family 0x%x model 0x%x stepping %u '%s'\n", cpu.vendor, cpu.family,
		cpu.model, cpu.stepping, cpu.brand);
	virt_detect(&virt);
	virt_report(&virt);

	rc = selfcheck_run(&boot_info, &machine_frames);
	if (rc)
		hv_end_run(HV_STATUS_FAIL);
	if (options.no_guest) {
		pr_info("mhv: guest=none: the self-check was the whole run\n");
		hv_end_run(HV_STATUS_PASS);
	}
	if (!guest_load(&boot_info, &guest))
		hv_end_run(HV_STATUS_FAIL); /* nothing ran: not a pass */
	if (!iommu_setup(options.iommu))
		hv_end_run(HV_STATUS_FAIL); /* iommu=required without an IOMMU */
	pci_msi_trap_init(); /* interrupt remapping: the guest's MSIs rewritten */
	if (!mmio_setup(&options))
		hv_end_run(HV_STATUS_FAIL);
	guest.mmio_cache = options.mmio_cache;
	if (options.bench)
		hv_bench_run();
	vuart_init(options.console_port, options.console_guest_prefix);
	/* One debug session (core/debug_stop.h): gdb when gdb= has its UART, else the monitor;
	 * the console's break-in sequence stops the guest for either. */
	bool console_break = options.break_in && options.console_port;

	irq_remap_allow_amdvi_nmipass(options.amdvi_nmipass);
	debug_stop_init(console_break ? &options.break_seq : NULL);
	if (options.gdb_port && gdbstub_init(options.gdb_port, options.baud, options.gdb_wait))
		debug_stop_set_session(&gdb_session);
	else if (console_break)
		debug_stop_set_session(&monitor_session);
	platform_ports_init();
	if (!msr_policy_init())
		hv_end_run(HV_STATUS_FAIL);
	guest_run(virt_backend(&virt), &virt, &guest);
	hv_end_run(HV_STATUS_FAIL);
}
