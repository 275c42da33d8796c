/*
 * sched.h - placement: which host should a new VM go to.
 *
 * Pure: it decides from the data it is given and calls neither libvirt nor
 * SQLite.  The caller gathers the hosts (with what is already allocated on
 * them) inside the same store transaction that will insert the VM, so the
 * choice and the claim are atomic.
 *
 * For now: filters (host state, memory, vCPUs under the ratios) then one
 * weigher, most free memory first, ties to fewest VMs then by name.  Each
 * host gets a verdict so a refusal can say why.
 */
#ifndef HANGAR_SCHED_H
#define HANGAR_SCHED_H

#include <stddef.h>
#include <stdint.h>

struct sched_host {
	const char *name;
	int ready;                  /* 0 when unreachable/maintenance */
	int cpus;
	int64_t memory_mib;
	int vms;
	int64_t alloc_vcpus;
	int64_t alloc_memory_mib;
	/* out: */
	int64_t free_memory_mib;    /* after ratios, reserved and claims */
	char verdict[160];          /* why it was rejected, or "" */
};

struct sched_request {
	int vcpus;
	int64_t memory_mib;
};

struct sched_policy {
	double cpu_ratio;           /* vCPUs per physical CPU, e.g. 4.0 */
	double ram_ratio;           /* e.g. 1.0 */
	int reserved_vcpus;         /* kept for the host itself */
	int64_t reserved_memory_mib;
};

/* The defaults (cpu 4.0, ram 1.0, reserved 1 vCPU and 512 MiB). */
void sched_policy_defaults(struct sched_policy *p);

/*
 * Pick a host for req among hosts[0..n).  Returns the index of the chosen
 * host, or -1 when none fits; either way every host's verdict and
 * free_memory_mib are filled.
 */
int sched_pick(struct sched_host *hosts, size_t n,
    const struct sched_request *req, const struct sched_policy *pol);

/*
 * Write a one-line summary of why no host fits ("host 'a': not enough
 * memory ...; host 'b': unreachable") into buf.
 */
void sched_explain(const struct sched_host *hosts, size_t n, char *buf,
    size_t len);

#endif
