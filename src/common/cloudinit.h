/*
 * cloudinit.h - what hangar writes itself into a VM's NoCloud seed, and
 * the checks of what it takes from a request to write it (cloudinit.c).
 * The user's own user-data and vendor-data are passed through as they
 * are; the host name and the SSH keys, which hangar writes into
 * meta-data, are checked here first.
 */
#ifndef HANGAR_CLOUDINIT_H
#define HANGAR_CLOUDINIT_H

#include <stdbool.h>
#include <stddef.h>

/* The most bytes a VM's cloud-init settings may take, all fields
 * together (user_data, vendor_data, network_config as JSON, the keys and
 * the host name): a NoCloud seed is a small thing. */
#define CLOUDINIT_MAX (64 * 1024)
#define CLOUDINIT_KEYS_MAX 32
#define CLOUDINIT_KEY_MAX 16384       /* bytes of one key line */
#define CLOUDINIT_HOSTNAME_MAX 253
#define CLOUDINIT_LABEL "cidata"      /* the seed's volume label */

/*
 * Is s a host name (RFC 1123): dot-separated labels of 1 to 63 letters,
 * digits and hyphens, none starting or ending with a hyphen, at most 253
 * bytes in all?  0, or -1 with ERR_INVALID naming field.
 */
int cloudinit_check_hostname(const char *field, const char *s);

/*
 * Is s one OpenSSH public key line, "TYPE BASE64 [COMMENT]": TYPE a key
 * type OpenSSH knows (ssh-ed25519, ssh-rsa, ecdsa-sha2-nistp256, ...),
 * BASE64 a base64 blob that decodes to a key of that same type, and the
 * comment text without control characters; no options before the type,
 * no newline anywhere.  0, or -1 with ERR_INVALID naming field.
 */
int cloudinit_check_key(const char *field, const char *s);

/*
 * meta-data (JSON, which cloud-init reads as the YAML it is):
 * instance-id, local-hostname (when hostname is not NULL or "") and
 * public-keys (the n keys).  malloc'd, or NULL with ERR_INTERNAL.
 */
char *cloudinit_meta_data(const char *instance_id, const char *hostname,
    const char *const *keys, size_t n);

/*
 * One NIC of the network-config: matched by its MAC; configured by DHCP
 * (v4) when address is NULL, else with the static address "A.B.C.D/P"
 * (what a network where hangar runs no DHCP server needs: a bridge
 * network, or one with dhcp off), and then the default route through
 * gateway and the name server dns when they are not NULL.
 */
struct cloudinit_nic {
	const char *mac;
	const char *address;
	const char *gateway;
	const char *dns;
};

/*
 * network-config version 2 configuring each of the n NICs: nic0 ...
 * nicN-1.  NULL with ERR_INTERNAL when out of memory; n == 0 gives NULL
 * without an error (no NIC: no network-config, cloud-init's own
 * fallback applies).  The gateway is written as gateway4, which
 * cloud-init 22.4 (Debian 12's, rendering ifupdown) turns into the
 * interface's default route.
 */
char *cloudinit_network_config(const struct cloudinit_nic *nics, size_t n);

/* The user-data written when the request gives none: an empty
 * cloud-config (meta-data carries the host name and the keys). */
#define CLOUDINIT_USER_DATA_NONE "#cloud-config\n{}\n"

/*
 * The vendor-data written when the request gives none: once per instance
 * (cloud-init-per keys it by instance-id), the guest's machine-id is made
 * anew (systemd-machine-id-setup: the VM's SMBIOS UUID, else random).
 * cloud-init itself makes new SSH host keys for a new instance-id, but
 * leaves /etc/machine-id alone, so a VM made from another's disk (a
 * clone, an image made from a VM) would keep its source's.  On a first
 * boot the id is still systemd's transient one (a mount point): left.
 */
#define CLOUDINIT_VENDOR_DATA_DEFAULT \
	"#cloud-config\n" \
	"bootcmd:\n" \
	" - [cloud-init-per, instance, hangar-machine-id, sh, -c, " \
	"\"mountpoint -q /etc/machine-id || { rm -f /etc/machine-id; " \
	"[ -L /var/lib/dbus/machine-id ] || rm -f /var/lib/dbus/machine-id; " \
	"systemd-machine-id-setup; }\"]\n"

#endif
