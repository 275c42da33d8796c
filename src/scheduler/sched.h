/*
 * sched.h - placement: which host should a new VM go to, and why.
 *
 * Pure: it decides from the data it is given and calls neither libvirt nor
 * SQLite.  The daemon keeps the hosts and what is claimed on them in
 * memory (daemon/view.c) and holds that view still while it picks and
 * commits the claim, so no two creates can take the same room.
 *
 * A pick is a filter -> weigh pipeline.  Filters and weighers are tables
 * (sched.c): a host that fails a filter gets a verdict naming the filter
 * and why; a host that passes gets a score, the sum of each weigher's
 * part, all of which the explain output shows.
 */
#ifndef HANGAR_SCHED_H
#define HANGAR_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SCHED_NAME_MAX 64
#define SCHED_WHY_MAX 256
#define SCHED_MAX_WEIGHERS 4

enum sched_state { SCHED_READY = 0, SCHED_MAINTENANCE, SCHED_UNREACHABLE,
	SCHED_FENCED };

/* domain types a host offers, as bits */
#define SCHED_DT_QEMU 0x1
#define SCHED_DT_KVM  0x2

struct sched_label {
	char key[SCHED_NAME_MAX];
	char value[SCHED_NAME_MAX];
};

/* One host as the scheduler sees it.  The view owns these. */
struct sched_host {
	int64_t id;
	char name[SCHED_NAME_MAX];
	enum sched_state state;
	char arch[32];
	unsigned domain_types;            /* SCHED_DT_* bits */
	int cpus;
	int64_t memory_mib, disk_gib;
	double cpu_ratio, ram_ratio, disk_ratio;
	int reserved_vcpus;
	int64_t reserved_memory_mib, reserved_disk_gib;
	struct sched_label *labels;       /* owned by the view */
	size_t nlabels;
	/* claims: what VMs placed here hold */
	int64_t alloc_vcpus, alloc_memory_mib, alloc_disk_gib;
	int vms;
};

enum sched_policy { SCHED_SPREAD = 0, SCHED_PACK };
enum sched_group_policy { SCHED_GROUP_NONE = 0, SCHED_AFFINITY,
    SCHED_ANTI_AFFINITY };

struct sched_request {
	int vcpus;
	int64_t memory_mib, disk_gib;
	const char *arch;                 /* NULL: any */
	unsigned domain_type;             /* SCHED_DT_* bit, 0: any */
	const struct sched_label *labels; /* all required */
	size_t nlabels;
	enum sched_policy policy;
	enum sched_group_policy group;
	bool group_strict;
	const char *group_name;
	/* members of the group per host, indexed like hosts[]; NULL if none */
	const int *group_counts;
	int group_total;                  /* members anywhere */
	/* hosts that hold a copy of the VM's image, indexed like hosts[];
	 * NULL if it has none (weigher "image": a soft preference) */
	const bool *has_image;
	/* host bridges the VM's NICs attach to, and per host (indexed like
	 * hosts[]) 1 + the index of the first one it lacks, 0 when it has
	 * them all; NULL when no bridge is needed (filter "bridges") */
	const char *const *bridges;
	const int *lacks_bridge;
	const char *host;                 /* explicit host, or NULL */
	bool force;                       /* with host: skip the filters */
	const char *exclude_host;         /* a move: the host it leaves */
};

/* Free room on a host after ratios, reserved resources and claims. */
struct sched_free {
	double vcpus;
	int64_t memory_mib, disk_gib;
	double vcpus_cap;
	int64_t memory_cap, disk_cap;     /* capacity after ratio, reserved */
};
void sched_host_free(const struct sched_host *h, struct sched_free *out);

/* A host's verdict, for explain output and refusals. */
struct sched_verdict {
	bool fits;
	const char *filter;               /* the filter that refused it */
	char why[SCHED_WHY_MAX];
	double score;
	struct {
		const char *name;
		double value;
	} parts[SCHED_MAX_WEIGHERS];
	size_t nparts;
};

/*
 * Pick a host for req among hosts[0..n).  Returns the chosen index, or -1
 * when none fits.  With out (n entries) every host is judged and gets its
 * verdict; without it, fleets of more than 1,000 hosts are sampled: the
 * scan stops once it has enough candidates (at least 100, or 2% of n),
 * starting at a rotating offset, which keeps a pick fast at 10,000 hosts.
 * Up to 1,000 hosts every host is judged.
 */
int sched_pick(const struct sched_host *hosts, size_t n,
    const struct sched_request *req, struct sched_verdict *out);

/*
 * Can host h hold a VM it already has at from_vcpus/from_memory_mib when
 * it becomes req->vcpus/req->memory_mib (a resize)?  Judged by the same
 * filters as a pick, with the VM's present claim handed back first.
 * 0 when it fits, else -1; *v the verdict either way.
 */
int sched_judge_resize(const struct sched_host *h,
    const struct sched_request *req, int from_vcpus, int64_t from_memory_mib,
    struct sched_verdict *v);

/*
 * One line on why no host fits: "host 'a': memory: ...; host 'b': ...",
 * into buf (truncated to len).
 */
void sched_explain(const struct sched_host *hosts,
    const struct sched_verdict *v, size_t n, char *buf, size_t len);

#endif
