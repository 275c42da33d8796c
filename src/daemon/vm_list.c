/*
 * vm_list.c - a growing array of VM records, filled by the store's
 * store_vm_each*() walks, for the daemon's passes over many VMs that must
 * not hold a read transaction while they call libvirt or write.
 */
#include <stdlib.h>

#include "../common/error.h"
#include "app.h"

int
vm_list_add(const struct vm_rec *v, void *arg)
{
	struct vm_list *l = arg;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct vm_rec *nv = realloc(l->v, cap * sizeof(*nv));

		if (nv == NULL)
			return err_set(ERR_INTERNAL, "out of memory");
		l->v = nv;
		l->cap = cap;
	}
	l->v[l->n++] = *v;
	return 0;
}

void
vm_list_free(struct vm_list *l)
{
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}
