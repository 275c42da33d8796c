/*
 * hangar.c - the `hangar` command-line client: global options, the command
 * table, and the error slot every other file reports into.
 *
 *	hangar [--url URL] [--token TOKEN] [--cacert FILE]
 *	    [-o table|wide|json|yaml] [--no-wait] [--timeout S] NOUN VERB ...
 *
 * The command table below is data: {noun, verb, handler, usage, help}.  main()
 * parses the global options (they come before the noun), finds the row,
 * answers -h/--help for it centrally, and runs the handler with argv
 * starting at the verb (cli_run(), watch.c, which also answers --watch on
 * every `list` command).  Handlers parse their own options with
 * cli_getopt() and check their operands with cli_args() (args.c).  The
 * table is also what `hangar completion` (complete.c) and `hangar manual`
 * (man.c) are made from: a row added here is completed and documented.
 *
 * Exit statuses: 0 success; 1 the server answered with an error or the
 * operation failed; 2 usage; 3 the daemon could not be reached; 130
 * interrupted while waiting (but Ctrl-C is how `hangar events --follow`
 * ends: 0).
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "hangar.h"
#include "http.h"

#define CLI_MSG_MAX 2048

static int	cli_version(struct cli *, int, char **);

/* The --help text of the commands that say more than their usage. */
static const char help_vm_create[] =
    "Create a VM (and start it with --start), placed by the scheduler\n"
    "(see 'hangar place').  The snapshot options are those of 'vm update'.\n"
    "--from-ova IMAGE: the disks (IMAGE, then the OVA's other images),\n"
    "their buses, vCPUs, memory and firmware from IMAGE's ova_spec, unless\n"
    "given.  Waits for the create, then prints the VM.\n"
    "--ssh-key, --hostname, --user-data, --vendor-data: the guest's\n"
    "cloud-init settings (a NoCloud seed CD-ROM hangar writes): each key\n"
    "line of FILE (repeatable), the host name (default: NAME), user-data\n"
    "and vendor-data sent as they are (at most 64 KiB in all).\n"
    "--wait-ready: once created (and started), wait until cloud-init in\n"
    "the guest is done, as hangard reads it through the guest agent\n"
    "(--timeout, default 900 s); exit 1 if it reports an error.\n"
    "--wait-ip: ... until a NIC is seen with an address (a DHCP lease, the\n"
    "guest agent or the host's ARP table).\n"
    "Then: ssh debian@$(hangar vm ip NAME).\n";

static const char help_vm_update[] =
    "Change a VM's snapshot and backup schedules and retentions; what is\n"
    "not given stays as it is.  Prints the VM.\n"
    "\n"
    "  --snapshot-schedule SPEC     when to take a snapshot: an interval\n"
    "                               ('@every 6h' or just '6h'), a cron spec\n"
    "                               in UTC ('0 3 * * mon-fri') or @hourly,\n"
    "                               @daily, @weekly, @monthly, @yearly\n"
    "  --no-snapshot-schedule       take no more scheduled snapshots\n"
    "  --snapshot-keep N            keep the newest N scheduled snapshots\n"
    "                               (0: no limit)\n"
    "  --snapshot-max-age DURATION  delete scheduled snapshots older than\n"
    "                               this, e.g. 7d or 1d12h (none: no limit)\n"
    "  --backup-schedule SPEC       when to back it up (as above); the\n"
    "  --no-backup-schedule         --backup-* options are those of the\n"
    "  --backup-keep N              --snapshot-* ones, for scheduled backups\n"
    "  --backup-max-age DURATION    (the newest one is never deleted for its\n"
    "                               age)\n"
    "  --backup-full-every N        a full backup when the chain (the newest\n"
    "                               and the ones it builds on) holds N; else\n"
    "                               incremental (default 7)\n"
    "\n"
    "Retention only ever deletes scheduled snapshots and backups, never\n"
    "those taken by 'hangar snapshot create' or 'hangar vm backup'.  A\n"
    "deleted backup that others build on is folded into them.\n";

static const char help_vm_backup[] =
    "Back up every disk of running VM into hangard's backup_dir: a full\n"
    "backup, or with --incremental only what changed since its latest one.\n"
    "Waits, then prints the backup.\n";

static const char help_backup_delete[] =
    "Delete backup ID of VM.  A backup others build on is folded into them\n"
    "first, so they stay whole.\n";

static const char help_backup_archive[] =
    "Download backup ID of VM as one tar: manifest.json (the VM's spec and\n"
    "each disk's SHA-256) and a whole qcow2 per disk, even for an\n"
    "incremental backup.  Written to FILE (default ID.tar).\n";

static const char help_backup_restore[] =
    "Bring stopped VM's disks back to backup ID (its chain flattened).  The\n"
    "old disks are removed only once every restored one is in place; a\n"
    "failed restore leaves the VM as it was.  Waits, then prints the VM.\n";

static const char help_snapshot_create[] =
    "Take snapshot NAME of VM (1-63 letters, digits, '.', '_' or '-').\n"
    "Waits for the operation (at most the global --timeout), then prints\n"
    "the snapshot.\n"
    "\n"
    "  --memory            save the running VM's memory too: a revert\n"
    "                      resumes it where it was\n"
    "  --description TEXT  a note kept with the snapshot\n"
    "  --no-wait           print the operation as accepted; do not wait\n";

static const char help_snapshot_list[] =
    "List VM's snapshots, oldest first.  PARENT: the snapshot it was taken\n"
    "after; VM-STATE: the VM's state then; MEMORY: its memory was saved\n"
    "too (a revert then restores that state); SCHEDULED: taken by the VM's\n"
    "snapshot schedule.\n";

static const char help_snapshot_revert[] =
    "Return VM to snapshot NAME: its disks and, if the snapshot saved its\n"
    "memory, its memory and state; after a snapshot without memory the VM\n"
    "is left stopped.  Waits, then prints the VM.\n"
    "\n"
    "  --no-wait   print the operation as accepted; do not wait\n";

static const char help_snapshot_delete[] =
    "Delete snapshot NAME of VM.  Waits, then prints the finished\n"
    "operation.\n"
    "\n"
    "  --no-wait   print the operation as accepted; do not wait\n";

static const char help_op_cancel[] =
    "Cancel operation ID.  A queued one is cancelled at once; a running one\n"
    "is asked to stop, if its kind can stop part-way (anything else, and an\n"
    "operation already finished, is an error).  Prints the operation.\n"
    "\n"
    "  --wait   follow a running one until it has stopped (at most the\n"
    "           global --timeout); exit 1 if it finished before it could\n"
    "           be cancelled\n";

static const char help_vm_import[] =
    "Make VM NEW from a backup archive FILE (as `hangar backup archive`\n"
    "writes it; sent as it is read) or from backup ID that hangar holds:\n"
    "the same devices, networks, cloud-init settings, MACs and addresses,\n"
    "unless taken (then new ones, said on stderr).  Placed like a create.\n"
    "Waits (up to 300 s), then prints the new VM; a refused archive or a\n"
    "failed import leaves nothing (exit 1).\n"
    "\n"
    "  --name NEW   the new VM's name (required)\n"
    "  --backup ID  import a backup hangar holds instead of a file\n"
    "  --host HOST  make it there (checked by the placement filters)\n"
    "  --stopped    do not start it\n"
    "  --no-wait    answer as soon as it is placed\n";

static const char help_vm_clone[] =
    "Make VM NEW from VM SRC's disks, on SRC's host unless --host: new id,\n"
    "MACs and addresses, and a new cloud-init instance-id (the guest makes\n"
    "new SSH host keys and a new machine-id).  A running SRC is frozen\n"
    "(guest agent) and paused while its disks are copied.  Waits, then\n"
    "prints the new VM; a failed clone leaves nothing (exit 1).\n"
    "\n"
    "  --full       copy every disk whole (default: a disk over an image\n"
    "               stays a linked clone of that image)\n"
    "  --start      start NEW once it is made\n"
    "  --host HOST  make it there (checked by the placement filters)\n"
    "  --no-wait    print the operation as accepted; do not wait\n";

static const char help_vm_template[] =
    "Make library image IMAGE of stopped VM's root disk, flattened (usable\n"
    "as any image: vm create --image IMAGE).  Waits, then prints the image.\n"
    "\n"
    "  --no-wait    print the operation as accepted; do not wait\n";

static const char help_vm_migrate[] =
    "Move VM to another host: live if it runs or is paused, cold if it is\n"
    "stopped.  Waits (a progress bar on a terminal), then prints the VM\n"
    "where it now is and the downtime libvirt measured.  A failed migration\n"
    "leaves the VM where it was (exit 1).\n"
    "\n"
    "  --to HOST              move it there (it must pass the placement\n"
    "                         filters); without it the scheduler picks\n"
    "  --force                with --to: skip the filters\n"
    "  --check                only check: print each check (CHECK, RESULT,\n"
    "                         REASON) and the host and mode it would use;\n"
    "                         exit 1 if it could not be moved\n"
    "  --offline              a running VM is paused while its memory copies\n"
    "  --copy-storage auto|yes|no\n"
    "                         copy the disk (auto: unless both hosts declare\n"
    "                         the same storage)\n"
    "  --max-downtime MS      the longest pause allowed at the switch-over\n"
    "  --auto-converge        slow the guest down if its memory changes\n"
    "                         faster than it copies\n"
    "  --post-copy            switch to post-copy after the first pass\n"
    "  --bandwidth MIB_S      at most this many MiB/s\n"
    "  --no-wait              print the operation as accepted; do not wait\n"
    "  --cancel-on-interrupt  Ctrl-C cancels the migration (otherwise it\n"
    "                         goes on, and 'hangar op cancel ID' stops it)\n";

static const char help_host_evacuate[] =
    "Host NAME is lost: make its VMs again on other hosts, each from its\n"
    "latest backup (what was written after it is lost: the operation says\n"
    "how old it was) or from its disks when another host shares its\n"
    "storage.  Refused while hangar still reaches the host (drain it\n"
    "instead).  The host is fenced first: nothing is placed on it, and when\n"
    "it answers again the stale copies of its VMs there are removed;\n"
    "'hangar host unfence NAME' re-admits it.  Waits, then prints the\n"
    "operation; exit 1 if a VM was not recovered.\n"
    "\n"
    "  --confirm-host-down  the host is down (powered off, its guests dead)\n"
    "  --no-wait            print the operation as accepted; do not wait\n";

static const char help_host_drain[] =
    "Put host NAME in maintenance and migrate its VMs away, each to the\n"
    "host the scheduler picks.  Waits (at most the global --timeout), then\n"
    "prints each move (VM, TO, STATUS, ERROR) and 'moved N, failed N,\n"
    "stayed N'; exit 1 if a VM could not be moved (the host stays in\n"
    "maintenance).  'hangar host undrain NAME' makes it take VMs again.\n"
    "\n"
    "  --stopped stay|migrate  stopped VMs stay (default) or move cold\n"
    "  --parallel N            at most N moves at a time (default 1)\n"
    "  --no-wait               print the operation as accepted; do not wait\n";

static const char help_plan_consolidate[] =
    "Plan how to empty as many hosts as possible (the least loaded first),\n"
    "under the same capacity and anti-affinity rules as placement.  Moves\n"
    "nothing: prints the plan (its moves, the hosts it frees, utilisation\n"
    "before -> after); 'hangar plan execute ID' runs it.\n"
    "\n"
    "  --max-moves N     at most N moves\n"
    "  --host H          plan among these hosts only; may be repeated\n"
    "  --target-free N   stop once N hosts are free\n";

static const char help_plan_rebalance[] =
    "Plan moves from the most to the least loaded host (memory) while that\n"
    "narrows the spread.  Moves nothing: prints the plan; 'hangar plan\n"
    "execute ID' runs it.\n"
    "\n"
    "  --max-moves N     at most N moves\n"
    "  --host H          plan among these hosts only; may be repeated\n";

static const char help_plan_execute[] =
    "Run plan ID's moves as migrations, each checked again just before it\n"
    "starts; the first that fails stops the rest.  Waits (at most the\n"
    "global --timeout), then prints each move and 'moved N, failed N';\n"
    "exit 1 if a move failed.  A plan runs once.\n"
    "\n"
    "  --parallel N   at most N moves at a time (default 1)\n"
    "  --no-wait      print the operation as accepted; do not wait\n";

static const char help_image_prune[] =
    "Removes the copies of library images that hosts keep for linked\n"
    "clones where nothing needs them: no disk on the host is made over it\n"
    "and no operation under way is putting one there.  Prints each copy\n"
    "looked at: removed, kept (and why), or forgotten (its volume was\n"
    "gone already), then 'removed N, kept N, forgotten N, unreachable N'.\n"
    "Copies on a host that cannot be reached stay (exit 1 with --host).\n"
    "\n"
    "  --host H       only host H's copies\n"
    "  --image NAME   only the copies of image NAME\n"
    "  --no-wait      print the operation as accepted; do not wait\n";

static const char help_image_import[] =
    "Upload FILE to hangard's image library as image NAME (1-63 of a-z\n"
    "0-9 . _ -).  hangard checks what the file really is, refuses images\n"
    "that reach outside themselves (backing files, external extents) and\n"
    "stores it as qcow2.  The file streams as it is read (a progress bar on\n"
    "a terminal); then waits for the import and prints the image.\n"
    "\n"
    "  --format F     raw, qcow2, vmdk, vhd, vhdx, or auto (the default:\n"
    "                 whatever it is)\n"
    "  --sha256 HEX   the file's SHA-256: the import fails unless it agrees\n"
    "  --os O         linux, windows or other (a hint for VMs made from it)\n"
    "  --no-wait      print the operation as accepted; do not wait\n";
static const char help_image_export[] =
    "Write image NAME to FILE, converted by hangard to --format (default\n"
    "qcow2).  A failed export leaves no FILE.\n";
static const char help_completion[] =
    "Print a completion script for bash or zsh, made from this command\n"
    "table: nouns, verbs, options, their fixed values, and the names of\n"
    "VMs, hosts, networks, images, groups and environments, asked of\n"
    "hangard as you press TAB (with the --url and --token typed before\n"
    "the command).  Load it with\n"
    "  source <(hangar completion bash)                  (bash)\n"
    "  hangar completion zsh > \"${fpath[1]}/_hangar\"    (zsh)\n"
    "'hangar completion names vm|host|network|image|group|env' prints\n"
    "the names the scripts offer, one a line, and never an error.\n";
static const char help_manual[] =
    "Print hangar(1), the manual page, as troff: man -l <(hangar manual).\n"
    "Its COMMANDS section is made from the same table as --help.\n";
static const char help_events[] =
    "Print hangard's events: VM state changes, operations, snapshots and\n"
    "hosts.  Without --follow: every event the daemon still keeps (or those\n"
    "after --since ID), then exit.  With --follow: new events (or those\n"
    "after --since ID) as they happen, until interrupted (Ctrl-C exits 0);\n"
    "a dropped connection is made again every 1 s, resuming after the last\n"
    "event received, so none is missed or repeated.\n"
    "\n"
    "  -f, --follow      keep the stream open and print events as they come\n"
    "  --since ID        start after event ID (the ID column)\n"
    "  --type T[,T...]   only these types, e.g. vm.paused,operation.*\n"
    "                    (a trailing * matches a prefix); may be repeated\n"
    "  --vm VM           only the events of VM (name or id)\n"
    "  --host HOST       only the events of HOST\n"
    "\n"
    "Table output: one line per event, ID TIME TYPE VM HOST DETAIL, written\n"
    "as it arrives.  DETAIL: 'previous -> state' for vm.*; the kind, and the\n"
    "step or the error, for operation.*; the snapshot for snapshot.*; the\n"
    "data as JSON for the rest.  -o json: each event as one JSON object per\n"
    "line (JSON Lines); -o yaml: each a YAML document after '---'.  Events\n"
    "pruned before they could be read are named in a warning on stderr.\n";

static const char help_vm_type[] =
    "Type TEXT into the VM (POST /v1/vms/{vm}/console/type), with a newline\n"
    "after it with --enter: into its serial console (--serial), or as the\n"
    "key strokes of a US keyboard (--keys: letters, digits, ASCII\n"
    "punctuation, newline, tab); without either, keys for a VM with\n"
    "graphics, else the serial console.\n";

static const char help_vm_console[] =
    "The VM's serial console on this terminal, through hangard's WebSocket\n"
    "(GET /v1/vms/{vm}/console): keys go to the guest in raw mode, Ctrl-]\n"
    "leaves.  One client types at a time: another gets 409 unless\n"
    "--takeover (the other is closed); --read only watches (a reader\n"
    "token's only way in).  With stdin from a pipe, it types what the pipe\n"
    "holds and shows the output until the console is quiet for a second.\n"
    "The serial console has no window size: run `stty rows R cols C` in\n"
    "the guest.\n";

static const struct cli_cmd cli_cmds[] = {
	{ "vm", "list", vm_list, "vm list [--host HOST] [--state STATE]",
	    NULL },
	{ "vm", "show", vm_show, "vm show VM", NULL },
	{ "vm", "guest", vm_guest, "vm guest VM", NULL },
	{ "vm", "ip", vm_ip, "vm ip VM", NULL },
	{ "vm", "create", vm_create, "vm create NAME [--start] [--vcpus N] "
	    "[--memory MIB]\n      [--image NAME [--clone linked|full] | "
	    "--from-ova IMAGE]\n      [--disk GIB] [--disk-bus BUS] "
	    "[--data-disk GIB[:BUS]]...\n      [--firmware bios|uefi] "
	    "[--machine pc|q35]\n      [--clock utc|localtime] "
	    "[--hyperv|--no-hyperv]\n      [--network NET]... "
	    "[--host HOST [--force]] "
	    "[--group GROUP]\n      [--label K=V]... [--policy spread|pack]\n"
	    "      [--snapshot-schedule SPEC] [--snapshot-keep N]\n"
	    "      [--snapshot-max-age DURATION]\n"
	    "      [--backup-schedule SPEC] [--backup-keep N]\n"
	    "      [--backup-max-age DURATION] [--backup-full-every N]\n"
	    "      [--ssh-key FILE]... [--hostname NAME] [--user-data FILE]\n"
	    "      [--vendor-data FILE] [--wait-ready] [--wait-ip]",
	    help_vm_create },
	{ "vm", "update", vm_update, "vm update VM "
	    "[--snapshot-schedule SPEC|--no-snapshot-schedule]\n"
	    "      [--snapshot-keep N] [--snapshot-max-age DURATION]\n"
	    "      [--backup-schedule SPEC|--no-backup-schedule] "
	    "[--backup-keep N]\n"
	    "      [--backup-max-age DURATION] [--backup-full-every N]",
	    help_vm_update },
	{ "vm", "resize", vm_resize, "vm resize VM [--vcpus N] [--memory MIB] "
	    "[--next-boot] [--allow-move]\n      [--no-wait]", NULL },
	{ "vm", "start", vm_action, "vm start VM", NULL },
	{ "vm", "stop", vm_action,
	    "vm stop VM [--force] [--timeout-s S]", NULL },
	{ "vm", "reboot", vm_action, "vm reboot VM [--force]", NULL },
	{ "vm", "pause", vm_action, "vm pause VM", NULL },
	{ "vm", "resume", vm_action, "vm resume VM", NULL },
	{ "vm", "delete", vm_action, "vm delete VM", NULL },
	{ "vm", "console", vm_console, "vm console VM [--read | --takeover]",
	    help_vm_console },
	{ "vm", "type", vm_type, "vm type VM TEXT [--enter] [--keys | --serial]",
	    help_vm_type },
	{ "vm", "migrate", vm_migrate, "vm migrate VM [--to HOST [--force]] "
	    "[--check] [--offline]\n      [--copy-storage auto|yes|no] "
	    "[--max-downtime MS] [--auto-converge]\n      [--post-copy] "
	    "[--bandwidth MIB_S] [--no-wait]\n      [--cancel-on-interrupt]",
	    help_vm_migrate },
	{ "vm", "clone", vm_clone, "vm clone SRC NEW [--full] [--start] "
	    "[--host HOST] [--no-wait]", help_vm_clone },
	{ "vm", "import", vm_import, "vm import FILE|--backup ID --name NEW "
	    "[--host HOST] [--stopped] [--no-wait]", help_vm_import },
	{ "vm", "template", vm_template, "vm template VM IMAGE [--no-wait]",
	    help_vm_template },
	{ "vm", "backup", vm_backup, "vm backup VM [--incremental] [--no-wait]",
	    help_vm_backup },
	{ "backup", "list", backup_list, "backup list VM", NULL },
	{ "backup", "show", backup_show, "backup show VM ID", NULL },
	{ "backup", "delete", backup_delete, "backup delete VM ID",
	    help_backup_delete },
	{ "backup", "archive", backup_archive,
	    "backup archive VM ID [-o FILE]", help_backup_archive },
	{ "backup", "restore", backup_restore,
	    "backup restore VM ID [--no-wait]", help_backup_restore },
	{ "snapshot", "create", snapshot_create, "snapshot create VM NAME "
	    "[--memory] [--description TEXT]\n      [--no-wait]",
	    help_snapshot_create },
	{ "snapshot", "list", snapshot_list, "snapshot list VM",
	    help_snapshot_list },
	{ "snapshot", "show", snapshot_show, "snapshot show VM NAME", NULL },
	{ "snapshot", "revert", snapshot_revert,
	    "snapshot revert VM NAME [--no-wait]", help_snapshot_revert },
	{ "snapshot", "delete", snapshot_delete,
	    "snapshot delete VM NAME [--no-wait]", help_snapshot_delete },
	{ "host", "list", host_list, "host list", NULL },
	{ "host", "show", host_show, "host show NAME", NULL },
	{ "host", "add", host_add, "host add NAME URI [--label K=V]... "
	    "[--cpu-ratio X]\n      [--ram-ratio X] [--disk-ratio X] "
	    "[--reserved-vcpus N]\n      [--reserved-memory MIB] "
	    "[--reserved-disk GIB] [--pool-path DIR]\n      "
	    "[--storage NAME]", NULL },
	{ "host", "update", host_update, "host update NAME [--clear-labels] "
	    "[--label K=V]...\n      [--cpu-ratio X] [--ram-ratio X] "
	    "[--disk-ratio X]\n      [--reserved-vcpus N] "
	    "[--reserved-memory MIB] [--reserved-disk GIB]\n      "
	    "[--pool-path DIR] [--storage NAME|--no-storage]", NULL },
	{ "host", "remove", host_remove, "host remove NAME", NULL },
	{ "host", "maintenance", host_maintenance,
	    "host maintenance NAME on|off", NULL },
	{ "host", "drain", host_drain, "host drain NAME "
	    "[--stopped stay|migrate] [--parallel N]\n      [--no-wait]",
	    help_host_drain },
	{ "host", "undrain", host_undrain, "host undrain NAME", NULL },
	{ "host", "evacuate", host_evacuate, "host evacuate NAME "
	    "[--confirm-host-down] [--no-wait]", help_host_evacuate },
	{ "host", "unfence", host_unfence, "host unfence NAME", NULL },
	{ "group", "create", group_create,
	    "group create NAME --policy affinity|anti-affinity [--soft]",
	    NULL },
	{ "group", "list", group_list, "group list", NULL },
	{ "group", "show", group_show, "group show NAME", NULL },
	{ "group", "delete", group_delete, "group delete NAME", NULL },
	{ "network", "create", network_create, "network create NAME "
	    "--mode nat|isolated|bridge [--cidr A.B.C.D/P]\n      "
	    "[--gateway IP] [--no-dhcp] [--bridge BR] [--description TEXT]",
	    NULL },
	{ "network", "list", network_list, "network list", NULL },
	{ "network", "show", network_show, "network show NAME", NULL },
	{ "network", "delete", network_delete, "network delete NAME", NULL },
	{ "env", "up", env_up, "env up FILE.json|- [--name NAME] [--ttl T] "
	    "[--no-wait]", NULL },
	{ "env", "down", env_down, "env down NAME [--no-wait]", NULL },
	{ "env", "list", env_list, "env list", NULL },
	{ "env", "show", env_show, "env show NAME", NULL },
	{ "env", "extend", env_extend, "env extend NAME TTL|none", NULL },
	{ "disk", "list", disk_list, "disk list VM", NULL },
	{ "disk", "add", disk_add, "disk add VM [--size GIB] [--bus BUS] "
	    "[--image NAME] [--no-wait]", NULL },
	{ "disk", "remove", disk_remove, "disk remove VM DEV [--no-wait]",
	    NULL },
	{ "disk", "resize", disk_resize, "disk resize VM DEV GIB [--no-wait]",
	    NULL },
	{ "image", "import", image_import, "image import NAME FILE "
	    "[--format F] [--sha256 HEX]\n      [--os linux|windows|other] "
	    "[--no-wait]",
	    help_image_import },
	{ "image", "list", image_list, "image list", NULL },
	{ "image", "show", image_show, "image show NAME", NULL },
	{ "image", "delete", image_delete, "image delete NAME", NULL },
	{ "image", "prune", image_prune, "image prune [--host H] [--image NAME] "
	    "[--no-wait]", help_image_prune },
	{ "image", "export", image_export, "image export NAME FILE "
	    "[--format qcow2|raw|vmdk|vhd|vhdx]", help_image_export },
	{ "place", NULL, place, "place NAME [--vcpus N] [--memory MIB] "
	    "[--disk GIB]\n      [--data-disk GIB[:BUS]]... "
	    "[--host HOST [--force]] [--group GROUP] "
	    "[--label K=V]...\n      [--policy spread|pack]", NULL },
	{ "plan", "consolidate", plan_consolidate, "plan consolidate "
	    "[--max-moves N] [--host H]... [--target-free N]",
	    help_plan_consolidate },
	{ "plan", "rebalance", plan_rebalance,
	    "plan rebalance [--max-moves N] [--host H]...",
	    help_plan_rebalance },
	{ "plan", "show", plan_show, "plan show ID", NULL },
	{ "plan", "execute", plan_execute,
	    "plan execute ID [--parallel N] [--no-wait]", help_plan_execute },
	{ "op", "list", op_list,
	    "op list [--vm VM] [--status STATUS] [--limit N]", NULL },
	{ "op", "show", op_show, "op show ID", NULL },
	{ "op", "cancel", op_cancel, "op cancel ID [--wait]",
	    help_op_cancel },
	{ "events", NULL, events, "events [--follow|-f] [--since ID] "
	    "[--type T[,T...]]\n      [--vm VM] [--host HOST]", help_events },
	{ "version", NULL, cli_version, "version", NULL },
	{ "completion", NULL, completion, "completion bash|zsh",
	    help_completion },
	{ "manual", NULL, manual, "manual", help_manual },
};
#define CLI_NCMDS (sizeof(cli_cmds) / sizeof(cli_cmds[0]))

/* The command table, for completion and the manual: *n rows. */
const struct cli_cmd *
cli_commands(size_t *n)
{
	*n = CLI_NCMDS;
	return cli_cmds;
}

const char cli_options_help[] =
    "options (before the command):\n"
    "  --url URL       unix:/path/to.sock or http[s]://host:port (default:\n"
    "                  $HANGAR_URL, else " HANGAR_DEFAULT_URL ")\n"
    "  --token TOKEN   API token, sent as 'Authorization: Bearer' (default:\n"
    "                  $HANGAR_TOKEN, better: arguments show in ps)\n"
    "  --cacert FILE   trust the CA certificates in FILE for https\n"
    "                  (default: $HANGAR_CACERT, else the system's)\n"
    "  -o FORMAT       table (the default), wide (more columns), json or\n"
    "                  yaml\n"
    "  --no-wait       do not wait for operations; print them as accepted\n"
    "  --timeout S     wait at most S seconds for an operation (default 600)\n"
    "  -h, --help      print this help\n"
    "  --version       print the client's version\n"
    "\n"
    "Every 'list' command takes --watch: print the list, then again each\n"
    "time hangard's events say it changed, until Ctrl-C.\n"
    "\n"
    "exit status: 0 done; 1 the server refused or the operation failed;\n"
    "2 usage; 3 hangard could not be reached; 130 interrupted\n";

/* For commands that take no options: getopt_long() still rejects any. */
const struct option cli_no_options[] = { { NULL, 0, NULL, 0 } };

volatile sig_atomic_t cli_interrupted;
static enum cli_exit cli_exit_status = CLI_OK;

/* Print a message as `hangar: msg` on stderr, off the progress line. */
static void
cli_vwarnx(const char *fmt, va_list ap)
{
	char msg[CLI_MSG_MAX];

	if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0)
		snprintf(msg, sizeof(msg), "(cannot format the message)");
	output_sanitize(msg);
	output_spin_clear();
	fprintf(stderr, "hangar: %s\n", msg);
}

/* A note on stderr that is not itself a failure. */
void
cli_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cli_vwarnx(fmt, ap);
	va_end(ap);
}

/*
 * Report a failure: print it and record code as the exit status, unless an
 * earlier failure already set one.  Returns -1 for `return cli_fail(...)`.
 */
int
cli_fail(enum cli_exit code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cli_vwarnx(fmt, ap);
	va_end(ap);
	if (cli_exit_status == CLI_OK)
		cli_exit_status = code;
	return -1;
}

/*
 * Record code as the exit status without a message, for a command whose
 * output already says what went wrong (`hangar place` when no host fits).
 * Returns -1 like cli_fail().
 */
int
cli_fail_quietly(enum cli_exit code)
{
	if (cli_exit_status == CLI_OK)
		cli_exit_status = code;
	return -1;
}

enum cli_exit
cli_status(void)
{
	return cli_exit_status;
}

/* Print the usage of one command, of every command of a noun, or of all. */
static void
cli_usage(FILE *fp, const struct cli_cmd *cmd, const char *noun)
{
	size_t i;

	if (cmd != NULL) {
		fprintf(fp, "usage: hangar [options] %s\n", cmd->c_usage);
		return;
	}
	fprintf(fp, "usage: hangar [options] %s %s\n\n",
	    noun != NULL ? noun : "NOUN", "VERB ...");
	fprintf(fp, "commands:\n");
	for (i = 0; i < CLI_NCMDS; i++)
		if (noun == NULL || strcmp(cli_cmds[i].c_noun, noun) == 0)
			fprintf(fp, "  hangar %s\n", cli_cmds[i].c_usage);
	if (noun == NULL)
		fprintf(fp, "\n%s", cli_options_help);
}

/* Report a usage error and print the usage of the command being run. */
int
cli_usage_error(struct cli *cli, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cli_vwarnx(fmt, ap);
	va_end(ap);
	cli_usage(stderr, cli != NULL ? cli->cli_cmd : NULL, NULL);
	if (cli_exit_status == CLI_OK)
		cli_exit_status = CLI_USAGE;
	return -1;
}

static void
cli_on_sigint(int sig)
{
	(void)sig;
	cli_interrupted = 1;
}

/*
 * While waiting for an operation, catch SIGINT so the wait can end cleanly
 * (erase the spinner, say the operation goes on); otherwise die of it.
 */
void
cli_catch_interrupt(bool on)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on ? cli_on_sigint : SIG_DFL;
	sigaction(SIGINT, &sa, NULL);
}

/* hangar version: the client's version and the server's GET /v1. */
static int
cli_version(struct cli *cli, int argc, char **argv)
{
	json_t *reply;
	int rc;

	if (cli_getopt(cli, argc, argv, ":", cli_no_options) != -1)
		return -1;
	if (cli_args(cli, argc, argv, 0, 0) == -1)
		return -1;
	if (http_call(cli->cli_http, "GET", "/v1", NULL, &reply) == -1)
		return -1;
	if (!OUTPUT_DATA(cli->cli_format))
		printf("client_version: %s\n", HANGAR_VERSION);
	rc = output_object(stdout, cli->cli_format, reply);
	json_decref(reply);
	return rc;
}

/* Whether argv holds -h or --help before any "--". */
static bool
cli_wants_help(int argc, char **argv)
{
	int i;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "-h") == 0 ||
		    strcmp(argv[i], "--help") == 0)
			return true;
	}
	return false;
}

/*
 * Find the command for argv (noun first).  Returns it with *nargs set to
 * how many words named it, or NULL after a usage error; *help is set when
 * the user only asked for help and it was printed.
 */
static const struct cli_cmd *
cli_lookup(struct cli *cli, int argc, char **argv, int *nargs, bool *help)
{
	const char *noun = argv[0], *verb = argc > 1 ? argv[1] : NULL;
	bool known = false;
	size_t i;

	*help = false;
	for (i = 0; i < CLI_NCMDS; i++) {
		if (strcmp(cli_cmds[i].c_noun, noun) != 0)
			continue;
		known = true;
		if (cli_cmds[i].c_verb == NULL) {
			*nargs = 1;
			return &cli_cmds[i];
		}
		if (verb != NULL && strcmp(cli_cmds[i].c_verb, verb) == 0) {
			*nargs = 2;
			return &cli_cmds[i];
		}
	}
	if (!known) {
		cli_usage_error(cli, "unknown command '%s'", noun);
		return NULL;
	}
	if (verb != NULL && (strcmp(verb, "-h") == 0 ||
	    strcmp(verb, "--help") == 0)) {
		cli_usage(stdout, NULL, noun);
		*help = true;
		return NULL;
	}
	if (verb == NULL)
		cli_warnx("'%s' needs a verb", noun);
	else
		cli_warnx("unknown command '%s %s'", noun, verb);
	cli_usage(stderr, NULL, noun);
	cli_exit_status = CLI_USAGE;
	return NULL;
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "url", required_argument, NULL, 'u' },
		{ "token", required_argument, NULL, 'T' },
		{ "cacert", required_argument, NULL, 'C' },
		{ "output", required_argument, NULL, 'o' },
		{ "no-wait", no_argument, NULL, 'n' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct cli cli = {
		.cli_format = OUTPUT_TABLE,
		.cli_wait = true,
		.cli_timeout = HANGAR_DEFAULT_TIMEOUT,
	};
	const struct cli_cmd *cmd;
	const char *url = getenv("HANGAR_URL");
	const char *token = getenv("HANGAR_TOKEN");
	const char *cacert = getenv("HANGAR_CACERT");
	bool help;
	int ch, nargs, rc = -1;

	if (url == NULL || *url == '\0')
		url = HANGAR_DEFAULT_URL;
	optind = 0;
	while ((ch = cli_getopt(NULL, argc, argv, "+:o:h", lo)) != -1) {
		switch (ch) {
		case 'u':
			url = optarg;
			break;
		case 'T':
			token = optarg;
			break;
		case 'C':
			cacert = optarg;
			break;
		case 'o':
			if (output_parse_format(optarg,
			    &cli.cli_format) == -1) {
				cli_usage_error(NULL, "invalid output format "
				    "'%s': use table, wide, json or yaml",
				    optarg);
				return CLI_USAGE;
			}
			break;
		case 'n':
			cli.cli_wait = false;
			break;
		case 't':
			if (cli_parse_long(NULL, "--timeout", optarg, 1,
			    INT_MAX, &cli.cli_timeout) == -1)
				return CLI_USAGE;
			break;
		case 'h':
			cli_usage(stdout, NULL, NULL);
			return CLI_OK;
		case 'V':
			printf("hangar %s\n", HANGAR_VERSION);
			return CLI_OK;
		default:
			return CLI_USAGE;
		}
	}
	if (optind >= argc) {
		cli_usage_error(NULL, "no command given");
		return CLI_USAGE;
	}
	argc -= optind;
	argv += optind;
	cli.cli_url = url;
	cli.cli_token = token;
	cli.cli_cacert = cacert;
	if ((cmd = cli_lookup(&cli, argc, argv, &nargs, &help)) == NULL)
		return help ? CLI_OK : CLI_USAGE;
	cli.cli_cmd = cmd;
	if (cli_wants_help(argc - nargs, argv + nargs)) {
		cli_usage(stdout, cmd, NULL);
		if (cmd->c_help != NULL)
			printf("\n%s", cmd->c_help);
		return CLI_OK;
	}

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		cli_fail(CLI_ERROR, "cannot initialise libcurl");
		return CLI_ERROR;
	}
	if ((cli.cli_http = http_open(url)) != NULL &&
	    http_set_auth(cli.cli_http, token, cacert) == 0) {
		/* The handler's argv[0] is the verb (or the lone noun). */
		optind = 0;
		rc = cli_run(&cli, cmd, argc - nargs + 1, argv + nargs - 1);
	}
	http_close(cli.cli_http);
	curl_global_cleanup();
	if (fflush(stdout) == EOF || ferror(stdout))
		rc = cli_fail(CLI_ERROR, "cannot write the output: %s",
		    strerror(errno));
	if (rc == 0)
		return CLI_OK;
	return cli_status() != CLI_OK ? cli_status() : CLI_ERROR;
}
