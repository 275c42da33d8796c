/*
 * m1_writer.c - row M1's second line (bench/metrics_bench.sh): the text
 * writer (common/promtext.c) alone, with every sample a real host gives
 * per VM, which libvirt's test driver does not (it reports only a
 * domain's state): info, 5 states, vCPUs, memory, CPU time, memory used
 * and available, a disk's 4 counters and an interface's 4: 20 samples
 * per VM, the families of api/metrics.c.  Prints
 * "m1_writer: vms=N samples=S bytes=B ms_median=M ms_p95=P" over R runs.
 * Usage: m1_writer [VMS [RUNS]]   (1000, 20)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/metrics.h"
#include "common/promtext.h"

static const char *const m1_fams[] = {
	"hangar_vm_info", "hangar_vm_state", "hangar_vm_vcpus",
	"hangar_vm_memory_bytes", "hangar_vm_cpu_seconds_total",
	"hangar_vm_memory_used_bytes", "hangar_vm_memory_available_bytes",
	"hangar_vm_disk_read_bytes_total", "hangar_vm_disk_written_bytes_total",
	"hangar_vm_disk_reads_total", "hangar_vm_disk_writes_total",
	"hangar_vm_network_receive_bytes_total",
	"hangar_vm_network_transmit_bytes_total",
	"hangar_vm_network_receive_packets_total",
	"hangar_vm_network_transmit_packets_total",
};
#define NF (sizeof(m1_fams) / sizeof(m1_fams[0]))

static int
m1_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* One scrape's text of n VMs; its size into *len, samples into *ns. */
static char *
m1_scrape(int n, size_t *len, size_t *ns)
{
	static const char *const states[] = { "stopped", "running", "paused",
	    "crashed", "unknown" };
	struct promtext *pt = promtext_new();
	char vm[32], uuid[40], host[16];

	*ns = 0;
	for (size_t f = 0; f < NF; f++)
		promtext_family(pt, m1_fams[f], strstr(m1_fams[f], "_total") ?
		    PT_COUNTER : PT_GAUGE, "a family of the bench");
	for (int i = 0; i < n; i++) {
		const char *lb[] = { "vm", vm, NULL };
		const char *dk[] = { "vm", vm, "disk", "vda", NULL };
		const char *ni[] = { "vm", vm, "interface", "vnet12", NULL };

		snprintf(vm, sizeof(vm), "m1-%d", i);
		snprintf(uuid, sizeof(uuid),
		    "6f1c0b52-0d3e-4f6a-9a4b-%012d", i);
		snprintf(host, sizeof(host), "h%d", i % 10);
		promtext_sample(pt, "hangar_vm_info", (const char *[]){ "vm", vm,
		    "vm_id", uuid, "host", host, "image", "debian-12", "group",
		    "", NULL }, 1);
		for (int s = 0; s < 5; s++)
			promtext_sample(pt, "hangar_vm_state", (const char *[]){
			    "vm", vm, "state", states[s], NULL }, s == 1);
		promtext_sample(pt, "hangar_vm_vcpus", lb, 2);
		promtext_sample(pt, "hangar_vm_memory_bytes", lb, 2147483648.0);
		promtext_sample(pt, "hangar_vm_cpu_seconds_total", lb,
		    12345.678901 + i);
		promtext_sample(pt, "hangar_vm_memory_used_bytes", lb,
		    1234567168.0 + i);
		promtext_sample(pt, "hangar_vm_memory_available_bytes", lb,
		    2061344768.0);
		for (int k = 0; k < 4; k++) {
			promtext_sample(pt, m1_fams[7 + k], dk,
			    123456789.0 * (k + 1) + i);
			promtext_sample(pt, m1_fams[11 + k], ni,
			    987654.0 * (k + 1) + i);
		}
		*ns += 20;
	}
	return promtext_finish(pt, len);
}

int
main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 1000;
	int runs = argc > 2 ? atoi(argv[2]) : 20;
	double *ms = calloc((size_t)(runs > 0 ? runs : 1), sizeof(*ms));
	size_t len = 0, ns = 0;

	if (n <= 0 || runs <= 0 || ms == NULL) {
		fprintf(stderr, "usage: m1_writer [VMS [RUNS]]\n");
		return 2;
	}
	for (int r = 0; r < runs; r++) {
		int64_t t0 = metrics_now_ns();
		char *text = m1_scrape(n, &len, &ns);

		ms[r] = (double)(metrics_now_ns() - t0) / 1e6;
		if (text == NULL)
			return 1;
		free(text);
	}
	qsort(ms, (size_t)runs, sizeof(*ms), m1_cmp);
	printf("m1_writer: vms=%d samples=%zu bytes=%zu ms_median=%.2f "
	    "ms_p95=%.2f\n", n, ns, len, ms[runs / 2],
	    ms[(runs * 95 + 99) / 100 - 1]);
	free(ms);
	return 0;
}
