/*
 * store_schema.c - the store's schema: its numbered migrations, in order.
 * store.c runs the ones a database has not seen yet when it opens it.
 */
#include "store_int.h"

/*
 * Numbered migrations: migration i brings user_version from i to i + 1.
 * Never edit one that has shipped; add a new one.
 */
const char *const store_migrations[] = {
	/* 1: hosts, vms, operations */
	"CREATE TABLE hosts ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE,"
	"  uri TEXT NOT NULL,"
	"  state TEXT NOT NULL DEFAULT 'ready',"
	"  arch TEXT NOT NULL DEFAULT '',"
	"  domain_type TEXT NOT NULL DEFAULT '',"
	"  cpus INTEGER NOT NULL DEFAULT 0,"
	"  memory_mib INTEGER NOT NULL DEFAULT 0,"
	"  free_memory_mib INTEGER NOT NULL DEFAULT 0,"
	"  cpu_model TEXT NOT NULL DEFAULT '',"
	"  created_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL);"
	"CREATE TABLE vms ("
	"  id INTEGER PRIMARY KEY,"
	"  uuid TEXT NOT NULL UNIQUE,"
	"  name TEXT NOT NULL UNIQUE,"
	"  vcpus INTEGER NOT NULL CHECK (vcpus > 0),"
	"  memory_mib INTEGER NOT NULL CHECK (memory_mib > 0),"
	"  disk_gib INTEGER NOT NULL CHECK (disk_gib > 0),"
	"  host_id INTEGER NOT NULL REFERENCES hosts(id) ON DELETE RESTRICT,"
	"  desired_state TEXT NOT NULL,"
	"  observed_state TEXT NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL);"
	"CREATE INDEX vms_host ON vms(host_id);"
	"CREATE TABLE operations ("
	"  id TEXT PRIMARY KEY,"
	"  kind TEXT NOT NULL,"
	"  vm_id INTEGER REFERENCES vms(id) ON DELETE SET NULL,"
	"  vm_uuid TEXT NOT NULL,"
	"  vm_name TEXT NOT NULL,"
	"  status TEXT NOT NULL,"
	"  step TEXT NOT NULL DEFAULT '',"
	"  params TEXT NOT NULL DEFAULT '{}',"
	"  err_code TEXT, err_field TEXT, err_msg TEXT,"
	"  created_at INTEGER NOT NULL,"
	"  started_at INTEGER, finished_at INTEGER);"
	/* at most one queued or running operation per VM */
	"CREATE UNIQUE INDEX operations_active_vm ON operations(vm_id)"
	"  WHERE status IN ('queued','running');"
	"CREATE INDEX operations_created ON operations(created_at);",

	/* 2: host settings and capacity, placement groups */
	"ALTER TABLE hosts ADD COLUMN maintenance INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE hosts ADD COLUMN labels TEXT NOT NULL DEFAULT '{}';"
	"ALTER TABLE hosts ADD COLUMN cpu_ratio REAL NOT NULL DEFAULT 4.0;"
	"ALTER TABLE hosts ADD COLUMN ram_ratio REAL NOT NULL DEFAULT 1.0;"
	"ALTER TABLE hosts ADD COLUMN disk_ratio REAL NOT NULL DEFAULT 1.0;"
	"ALTER TABLE hosts ADD COLUMN reserved_vcpus INTEGER NOT NULL DEFAULT 1;"
	"ALTER TABLE hosts ADD COLUMN reserved_memory_mib INTEGER NOT NULL"
	"  DEFAULT 512;"
	"ALTER TABLE hosts ADD COLUMN reserved_disk_gib INTEGER NOT NULL"
	"  DEFAULT 0;"
	"ALTER TABLE hosts ADD COLUMN domain_types TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE hosts ADD COLUMN disk_gib INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE hosts ADD COLUMN disk_free_gib INTEGER NOT NULL DEFAULT 0;"
	"CREATE TABLE groups ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE,"
	"  policy TEXT NOT NULL CHECK (policy IN ('affinity','anti-affinity')),"
	"  strict INTEGER NOT NULL,"
	"  created_at INTEGER NOT NULL);"
	"ALTER TABLE vms ADD COLUMN group_id INTEGER"
	"  REFERENCES groups(id) ON DELETE RESTRICT;"
	"CREATE INDEX vms_group ON vms(group_id);",

	/* 3: events, snapshots, idempotency keys, snapshot schedules */
	"CREATE TABLE events ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  ts INTEGER NOT NULL,"
	"  type TEXT NOT NULL,"
	"  vm_uuid TEXT, vm_name TEXT, host TEXT, op_id TEXT,"
	"  data TEXT NOT NULL DEFAULT '{}');"
	"CREATE INDEX events_ts ON events(ts);"
	"CREATE TABLE snapshots ("
	"  id INTEGER PRIMARY KEY,"
	"  vm_id INTEGER NOT NULL REFERENCES vms(id) ON DELETE CASCADE,"
	"  name TEXT NOT NULL,"
	"  description TEXT NOT NULL DEFAULT '',"
	"  memory INTEGER NOT NULL,"
	"  vm_state TEXT NOT NULL DEFAULT '',"
	"  parent TEXT NOT NULL DEFAULT '',"
	"  status TEXT NOT NULL DEFAULT 'creating'"
	"    CHECK (status IN ('creating','ready')),"
	"  scheduled INTEGER NOT NULL DEFAULT 0,"
	"  created_at INTEGER NOT NULL,"
	"  UNIQUE (vm_id, name));"
	"CREATE TABLE idempotency ("
	"  key TEXT PRIMARY KEY,"
	"  request TEXT NOT NULL,"
	"  status INTEGER NOT NULL DEFAULT 0,"
	"  location TEXT NOT NULL DEFAULT '',"
	"  body TEXT NOT NULL DEFAULT '',"
	"  created_at INTEGER NOT NULL);"
	"CREATE INDEX idempotency_created ON idempotency(created_at);"
	"ALTER TABLE operations ADD COLUMN idem_key TEXT;"
	"CREATE INDEX operations_idem ON operations(idem_key)"
	"  WHERE idem_key IS NOT NULL;"
	"CREATE INDEX operations_finished ON operations(finished_at)"
	"  WHERE finished_at IS NOT NULL;"
	"ALTER TABLE vms ADD COLUMN snapshot_schedule TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE vms ADD COLUMN snapshot_keep INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE vms ADD COLUMN snapshot_max_age_ms INTEGER NOT NULL"
	"  DEFAULT 0;"
	"ALTER TABLE vms ADD COLUMN snapshot_last_at INTEGER NOT NULL DEFAULT 0;",

	/* 4: per-host storage, operation progress and parents, plans */
	"ALTER TABLE hosts ADD COLUMN pool_path TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE hosts ADD COLUMN storage TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE operations ADD COLUMN progress TEXT NOT NULL DEFAULT '{}';"
	"ALTER TABLE operations ADD COLUMN parent_id TEXT;"
	"ALTER TABLE operations ADD COLUMN host_id INTEGER"
	"  REFERENCES hosts(id) ON DELETE SET NULL;"
	"CREATE INDEX operations_parent ON operations(parent_id)"
	"  WHERE parent_id IS NOT NULL;"
	/* one queued or running host-level operation (drain) per host */
	"CREATE UNIQUE INDEX operations_active_host ON operations(host_id)"
	"  WHERE status IN ('queued','running') AND host_id IS NOT NULL;"
	"CREATE TABLE plans ("
	"  id TEXT PRIMARY KEY,"
	"  kind TEXT NOT NULL CHECK (kind IN ('consolidation','rebalance')),"
	"  body TEXT NOT NULL,"
	"  op_id TEXT,"
	"  created_at INTEGER NOT NULL);",

	/* 5: drift policy and reason, API tokens */
	"ALTER TABLE vms ADD COLUMN on_drift TEXT NOT NULL DEFAULT 'record'"
	"  CHECK (on_drift IN ('record','enforce','alert'));"
	"CREATE TABLE tokens ("
	"  id TEXT PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE,"
	"  role TEXT NOT NULL CHECK (role IN ('reader','operator','admin')),"
	"  hash TEXT NOT NULL UNIQUE,"
	"  created_at INTEGER NOT NULL,"
	"  revoked_at INTEGER);",

	/*
	 * 6: a VM is its devices.  Disks become rows of their own, with
	 * stable device names; every VM's one disk moves into the table as
	 * vda, under the volume name it always had ("<uuid>.qcow2").
	 * vms.disk_gib stays as the sum of the VM's disks: what it claims
	 * of its host's pool (kept by store_disk.c, read by placement).
	 * A VM's domain type is its host's best unless it asked for one.
	 */
	"CREATE TABLE vm_disks ("
	"  vm_id INTEGER NOT NULL REFERENCES vms(id) ON DELETE CASCADE,"
	"  dev TEXT NOT NULL,"
	"  device TEXT NOT NULL DEFAULT 'disk'"
	"    CHECK (device IN ('disk','cdrom')),"
	"  bus TEXT NOT NULL DEFAULT 'virtio'"
	"    CHECK (bus IN ('virtio','sata','scsi','ide')),"
	"  format TEXT NOT NULL DEFAULT 'qcow2'"
	"    CHECK (format IN ('qcow2','raw')),"
	"  size_gib INTEGER NOT NULL CHECK (size_gib >= 0),"
	"  volume TEXT NOT NULL,"
	"  boot_order INTEGER NOT NULL DEFAULT 0,"
	"  image TEXT NOT NULL DEFAULT '',"
	"  base_volume TEXT NOT NULL DEFAULT '',"
	"  created_at INTEGER NOT NULL,"
	"  PRIMARY KEY (vm_id, dev));"
	"CREATE INDEX vm_disks_image ON vm_disks(image) WHERE image <> '';"
	"INSERT INTO vm_disks (vm_id, dev, size_gib, volume, boot_order,"
	"  created_at)"
	"  SELECT id, 'vda', disk_gib, uuid || '.qcow2', 1, created_at"
	"  FROM vms;"
	"ALTER TABLE vms ADD COLUMN firmware TEXT NOT NULL DEFAULT 'bios'"
	"  CHECK (firmware IN ('bios','uefi'));"
	"ALTER TABLE vms ADD COLUMN machine TEXT NOT NULL DEFAULT 'pc'"
	"  CHECK (machine IN ('pc','q35'));"
	"ALTER TABLE vms ADD COLUMN domain_type TEXT NOT NULL DEFAULT ''"
	"  CHECK (domain_type IN ('','kvm','qemu'));",

	/* 7: the image library (store_image.c); an image being imported has
	 * its row from the request that uploaded it, with its operation */
	"CREATE TABLE images ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE,"
	"  state TEXT NOT NULL DEFAULT 'importing'"
	"    CHECK (state IN ('importing','ready','failed')),"
	"  source_format TEXT NOT NULL,"
	"  sha256_upload TEXT NOT NULL DEFAULT '',"
	"  sha256 TEXT NOT NULL DEFAULT '',"
	"  virtual_size INTEGER NOT NULL DEFAULT 0,"
	"  actual_size INTEGER NOT NULL DEFAULT 0,"
	"  os TEXT NOT NULL DEFAULT 'other'"
	"    CHECK (os IN ('linux','windows','other')),"
	"  ova_spec TEXT NOT NULL DEFAULT '',"
	"  path TEXT NOT NULL DEFAULT '',"
	"  op_id TEXT,"
	"  created_at INTEGER NOT NULL);",

	/*
	 * 8: each host's cached copy of an image, a base volume in its pool
	 * named by the image's sha256: 'copying' until the upload is
	 * whole, then 'ready'.  A row found 'copying' by a later daemon is a
	 * cut upload: its volume is made again.
	 */
	"CREATE TABLE host_images ("
	"  host_id INTEGER NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,"
	"  sha256 TEXT NOT NULL,"
	"  volume TEXT NOT NULL,"
	"  state TEXT NOT NULL CHECK (state IN ('copying','ready')),"
	"  created_at INTEGER NOT NULL,"
	"  PRIMARY KEY (host_id, sha256));"
	"CREATE INDEX vm_disks_base ON vm_disks(base_volume)"
	"  WHERE base_volume <> '';",
	/* 9: how consistent a snapshot's disks are: taken stopped, with the
	 * RAM (the whole machine), with the guest's filesystems frozen by its
	 * agent, or as after a power cut */
	"ALTER TABLE snapshots ADD COLUMN consistency TEXT NOT NULL"
	"  DEFAULT 'crash'"
	"  CHECK (consistency IN ('stopped','memory','quiesced','crash'));"
	"UPDATE snapshots SET consistency = CASE WHEN memory = 1 THEN 'memory'"
	"  WHEN vm_state = 'stopped' THEN 'stopped' ELSE 'crash' END;",
	/*
	 * 10: a VM's cloud-init settings (store_cloudinit.c), kept to build
	 * its NoCloud seed again wherever the VM goes; the seed is a disk
	 * row whose content is 'cidata' (a CD-ROM hangar writes itself).
	 */
	"CREATE TABLE vm_cloud_init ("
	"  vm_id INTEGER PRIMARY KEY REFERENCES vms(id) ON DELETE CASCADE,"
	"  spec TEXT NOT NULL,"
	"  created_at INTEGER NOT NULL);"
	"ALTER TABLE vm_disks ADD COLUMN content TEXT NOT NULL DEFAULT ''"
	"  CHECK (content IN ('','cidata'));",
	/* 11: how far cloud-init has provisioned the guest ('' when hangar
	 * does not follow it: the VM has no cloud-init seed) */
	"ALTER TABLE vms ADD COLUMN provisioning"
	"  TEXT NOT NULL DEFAULT ''"
	"  CHECK (provisioning IN ('','pending','running','done','error'));",
	/*
	 * 12: the guest's clock (its RTC in UTC or local time, as Windows
	 * keeps it) and whether it gets Hyper-V enlightenments; both chosen
	 * at create from the image's os hint unless asked
	 */
	"ALTER TABLE vms ADD COLUMN clock TEXT NOT NULL DEFAULT 'utc'"
	"  CHECK (clock IN ('utc','localtime'));"
	"ALTER TABLE vms ADD COLUMN hyperv INTEGER NOT NULL DEFAULT 0"
	"  CHECK (hyperv IN (0,1));",
	/*
	 * 13: networks and a VM's NICs (store_network.c, store_nic.c).  A
	 * network's IPv4 range is kept as text and as integers (net_addr,
	 * prefix; 0/0 for none), so overlaps and free addresses are
	 * arithmetic; a NIC's address is an integer in its network's range,
	 * unique per network, its MAC unique across the fleet.  Network ids
	 * are never reused: libvirt's names on the hosts derive from them.
	 */
	"CREATE TABLE networks ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  uuid TEXT NOT NULL UNIQUE,"
	"  name TEXT NOT NULL UNIQUE,"
	"  mode TEXT NOT NULL CHECK (mode IN ('nat','isolated','bridge')),"
	"  cidr TEXT NOT NULL DEFAULT '',"
	"  net_addr INTEGER NOT NULL DEFAULT 0,"
	"  prefix INTEGER NOT NULL DEFAULT 0 CHECK (prefix BETWEEN 0 AND 30),"
	"  gateway INTEGER NOT NULL DEFAULT 0,"
	"  dhcp INTEGER NOT NULL DEFAULT 1,"
	"  bridge TEXT NOT NULL DEFAULT '',"
	"  description TEXT NOT NULL DEFAULT '',"
	"  created_at INTEGER NOT NULL);"
	"CREATE TABLE vm_nics ("
	"  vm_id INTEGER NOT NULL REFERENCES vms(id) ON DELETE CASCADE,"
	"  dev TEXT NOT NULL,"
	"  network_id INTEGER NOT NULL REFERENCES networks(id)"
	"    ON DELETE RESTRICT,"
	"  mac TEXT NOT NULL UNIQUE,"
	"  model TEXT NOT NULL DEFAULT 'virtio'"
	"    CHECK (model IN ('virtio','e1000')),"
	"  ipv4 INTEGER,"
	"  created_at INTEGER NOT NULL,"
	"  PRIMARY KEY (vm_id, dev),"
	"  UNIQUE (network_id, ipv4));",
	/*
	 * 14: where a network's next address is looked for: addresses are
	 * handed out going round the range, not lowest first, so one given
	 * back is not handed out again while its old DHCP lease (dnsmasq
	 * keeps it for its lifetime, for the old MAC) still holds it
	 */
	"ALTER TABLE networks ADD COLUMN next_ipv4 INTEGER NOT NULL"
	"  DEFAULT 0;",
	/*
	 * 15: test environments: a private network and VMs made and
	 * removed together (daemon/envs.c).  network_id links the network
	 * (the environment row goes after it); environment_vms links
	 * each VM, with its role (the "name" of its entry in the request),
	 * and goes with the VM or the environment.  expires_at (ms since
	 * the epoch, 0: never) is what the expiry ticker looks at, so it
	 * survives a restart.
	 */
	"CREATE TABLE environments ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  name TEXT NOT NULL UNIQUE,"
	"  network_id INTEGER REFERENCES networks(id) ON DELETE SET NULL,"
	"  state TEXT NOT NULL DEFAULT 'creating'"
	"    CHECK (state IN ('creating','ready','deleting','failed')),"
	"  ttl_s INTEGER NOT NULL DEFAULT 0,"
	"  expires_at INTEGER NOT NULL DEFAULT 0,"
	"  op_id TEXT NOT NULL DEFAULT '',"
	"  error TEXT NOT NULL DEFAULT '',"
	"  created_at INTEGER NOT NULL);"
	"CREATE INDEX environments_expiry ON environments(expires_at)"
	"  WHERE expires_at > 0;"
	"CREATE TABLE environment_vms ("
	"  env_id INTEGER NOT NULL REFERENCES environments(id)"
	"    ON DELETE CASCADE,"
	"  vm_id INTEGER NOT NULL UNIQUE REFERENCES vms(id) ON DELETE CASCADE,"
	"  role TEXT NOT NULL,"
	"  PRIMARY KEY (env_id, vm_id));",
	/*
	 * 16: the libvirt networks of deleted hangar networks still to be
	 * removed from a host (it was unreachable, or refused): removed when
	 * it connects again, and only while the network there has this uuid
	 */
	"CREATE TABLE network_leftovers ("
	"  host_id INTEGER NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,"
	"  name TEXT NOT NULL,"
	"  uuid TEXT NOT NULL,"
	"  PRIMARY KEY (host_id, uuid));",
	/*
	 * 17: a VM's graphical console: none, or VNC on a unix socket on
	 * its host (never a TCP port); chosen at create from the image's os
	 * hint (windows: vnc) unless asked
	 */
	"ALTER TABLE vms ADD COLUMN graphics TEXT NOT NULL DEFAULT 'none'"
	"  CHECK (graphics IN ('none','vnc'));",
	/*
	 * 18: backups (store_backup.c).  Keyed by the VM's uuid, not a
	 * foreign key: a backup outlives its VM (it is what a lost VM is
	 * brought back from).  spec and disks are JSON texts: the VM as GET
	 * /v1/vms/{vm} showed it, and [{dev, file, sha256, bytes}] of the
	 * files under backup_dir.  parent is the backup an incremental one
	 * builds on ('' for a full one); checkpoint_xml is libvirt's
	 * description of the checkpoint taken with it, to define it again
	 * where libvirt lost it (a migration, a new host).
	 */
	"CREATE TABLE backups ("
	"  id TEXT PRIMARY KEY,"
	"  vm_uuid TEXT NOT NULL,"
	"  vm_name TEXT NOT NULL,"
	"  mode TEXT NOT NULL CHECK (mode IN ('full','incremental')),"
	"  parent TEXT NOT NULL DEFAULT '',"
	"  checkpoint TEXT NOT NULL DEFAULT '',"
	"  checkpoint_xml TEXT NOT NULL DEFAULT '',"
	"  status TEXT NOT NULL CHECK (status IN ('creating','ready')),"
	"  spec TEXT NOT NULL DEFAULT '{}',"
	"  disks TEXT NOT NULL DEFAULT '[]',"
	"  size INTEGER NOT NULL DEFAULT 0,"
	"  op_id TEXT NOT NULL DEFAULT '',"
	"  created_at INTEGER NOT NULL);"
	"CREATE INDEX backups_vm ON backups (vm_uuid, created_at);",
	/*
	 * 19: how far a VM may grow while it runs (resize): vCPUs hotplugged
	 * up to max_vcpus, memory through the balloon up to max_memory_mib;
	 * 0 for a VM made before: its current size is its ceiling
	 */
	"ALTER TABLE vms ADD COLUMN max_vcpus INTEGER NOT NULL DEFAULT 0"
	"  CHECK (max_vcpus >= 0);"
	"ALTER TABLE vms ADD COLUMN max_memory_mib INTEGER NOT NULL"
	"  DEFAULT 0 CHECK (max_memory_mib >= 0);",
	/*
	 * 20: scheduled backups (daemon/bsched.c), like the snapshot
	 * schedule of migration 10: the schedule ('' for none), the
	 * retention (keep the newest N scheduled backups, none older than
	 * max_age; 0: no limit), how many backups a chain holds before the
	 * next one is full again, and when the schedule last fired.  A
	 * backup taken by the schedule is marked: only those are pruned.
	 */
	"ALTER TABLE vms ADD COLUMN backup_schedule TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE vms ADD COLUMN backup_keep INTEGER NOT NULL DEFAULT 0"
	"  CHECK (backup_keep >= 0);"
	"ALTER TABLE vms ADD COLUMN backup_max_age_ms INTEGER NOT NULL"
	"  DEFAULT 0 CHECK (backup_max_age_ms >= 0);"
	"ALTER TABLE vms ADD COLUMN backup_full_every INTEGER NOT NULL"
	"  DEFAULT 7 CHECK (backup_full_every >= 1);"
	"ALTER TABLE vms ADD COLUMN backup_last_at INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE backups ADD COLUMN scheduled INTEGER NOT NULL DEFAULT 0"
	"  CHECK (scheduled IN (0,1));",
	/*
	 * 21: a host lost and evacuated is fenced: nothing is placed on it,
	 * and when it answers again the stale domains of its evacuated VMs
	 * are destroyed and undefined there before anything else, until an
	 * operator re-admits it (POST /v1/hosts/{h}/unfence).  fenced_at: when (ms), 0 if not;
	 * fence: the program that fences it (a JSON array, its argument
	 * vector), '' for none
	 */
	"ALTER TABLE hosts ADD COLUMN fenced_at INTEGER NOT NULL DEFAULT 0"
	"  CHECK (fenced_at >= 0);"
	"ALTER TABLE hosts ADD COLUMN fence TEXT NOT NULL DEFAULT '';",
};

const int store_nmigrations =
	(int)(sizeof(store_migrations) / sizeof(store_migrations[0]));

int
store_schema_version(void)
{
	return store_nmigrations;
}
