/*
 * hangar.h - what the files of the `hangar` command-line client share.
 *
 * The client talks to hangard over its JSON REST API (docs/api.md) and
 * shares no code with the daemon.  One file per concern: hangar.c (main,
 * global options, the command table), http.c (libcurl), problem.c (reading
 * problem+json), output.c (tables, `key: value`, JSON, the spinner),
 * migration.c (printing migrations, drains, plans and an operation's
 * progress), columns.c (which columns each list shows), sse.c (reading
 * the event stream), args.c (options, operands and their parsers), yaml.c
 * (-o yaml), watch.c (--watch), complete.c (shell completion), man.c
 * (hangar(1)) and one cmd_*.c per noun (cmd_vm.c, cmd_host.c,
 * cmd_group.c, cmd_env.c, cmd_network.c, cmd_place.c, cmd_op.c, cmd_snapshot.c, cmd_events.c,
 * cmd_plan.c, cmd_image.c, cmd_backup.c; http_file.c carries its files).
 *
 * Errors are reported once, where they happen, with cli_fail(): it prints
 * `hangar: <message>` to stderr and records the exit status; the function
 * then returns -1 and its callers just pass that up.  main() exits with the
 * recorded status.
 */
#ifndef HANGAR_CLI_H
#define HANGAR_CLI_H

#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "output.h"

#include "../src/common/version.h"   /* the one version, shared with hangard */
#define HANGAR_DEFAULT_URL "unix:/run/hangar/hangard.sock"
#define HANGAR_DEFAULT_TIMEOUT 600L	/* seconds --timeout waits by default */
#define HANGAR_PATH_MAX 2048		/* request path + query, escaped */

/* The process exit statuses; the first failure reported sets one. */
enum cli_exit {
	CLI_OK = 0,
	CLI_ERROR = 1,		/* the server said no, or the op failed */
	CLI_USAGE = 2,		/* bad command line */
	CLI_UNREACHABLE = 3,	/* the daemon could not be reached */
	CLI_INTERRUPTED = 130	/* SIGINT while waiting */
};

struct http;
struct cli_cmd;

/* The global options and the connection, passed to every handler. */
struct cli {
	struct http		*cli_http;
	enum output_format	 cli_format;	/* -o table|wide|json|yaml */
	bool			 cli_wait;	/* false with --no-wait */
	bool			 cli_wait_ready;	/* vm create --wait-ready */
	bool			 cli_wait_ip;	/* vm create --wait-ip */
	long			 cli_timeout;	/* --timeout, seconds */
	const struct cli_cmd	*cli_cmd;	/* the command being run */
	const char		*cli_url;	/* --url, for a second connection */
	const char		*cli_token;	/* --token */
	const char		*cli_cacert;	/* --cacert */
};

/*
 * A command handler gets argv starting at the verb (argv[0] is the verb, or
 * the noun for verb-less commands) and returns 0, or -1 after cli_fail().
 */
typedef int cli_handler(struct cli *, int, char **);

struct cli_cmd {
	const char	*c_noun;
	const char	*c_verb;	/* NULL: the noun is the command */
	cli_handler	*c_handler;
	const char	*c_usage;	/* what follows "hangar [options]" */
	const char	*c_help;	/* more for --help, or NULL */
};

/* hangar.c */
extern volatile sig_atomic_t cli_interrupted;
extern const char cli_options_help[];
const struct cli_cmd *cli_commands(size_t *);
void	 cli_warnx(const char *, ...)
	    __attribute__((format(printf, 1, 2)));
int	 cli_fail(enum cli_exit, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
int	 cli_fail_quietly(enum cli_exit);
int	 cli_usage_error(struct cli *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
enum cli_exit cli_status(void);
int	 cli_parse_long(struct cli *, const char *, const char *, long, long,
	    long *);
extern const struct option cli_no_options[];
int	 cli_getopt(struct cli *, int, char **, const char *,
	    const struct option *);
int	 cli_parse_number(struct cli *, const char *, const char *,
	    double *);
int	 cli_parse_label(struct cli *, const char *, const char *, json_t *);
int	 cli_set(json_t *, const char *, json_t *);
int	 cli_set_str(struct cli *, json_t *, const char *, const char *,
	    const char *);
int	 cli_args(struct cli *, int, char **, int, int);
void	 cli_catch_interrupt(bool);

/* columns.c */
extern const struct output_col columns_vm[], columns_host[], columns_op[],
    columns_group[], columns_member[], columns_place[], columns_snapshot[],
    columns_check[], columns_move[], columns_plan_move[], columns_disk[],
    columns_image[], columns_guest_fs[], columns_prune[], columns_network[],
    columns_env[], columns_envvm[], columns_backup[];
extern const size_t columns_nvm, columns_nhost, columns_nop, columns_ngroup,
    columns_nmember, columns_nplace, columns_nsnapshot, columns_ncheck,
    columns_nmove, columns_nplan_move, columns_ndisk, columns_nimage,
    columns_nguest_fs, columns_nprune, columns_nnetwork, columns_nenv,
    columns_nenvvm, columns_nbackup;
extern const struct output_wide columns_wide[];
extern const size_t columns_nwide;

/* problem.c */
void	 problem_message(const json_t *, long, char *, size_t);
bool	 problem_retryable(const json_t *, long);

/* cmd_vm.c */
int	 vm_list(struct cli *, int, char **);
int	 vm_show(struct cli *, int, char **);
int	 vm_create(struct cli *, int, char **);
int	 vm_action(struct cli *, int, char **);
int	 vm_update(struct cli *, int, char **);
int	 vm_migrate(struct cli *, int, char **);
int	 vm_spec(struct cli *, int, char **, bool, json_t **);
int	 vm_print(struct cli *, const char *);

/* cmd_clone.c */
int	 vm_clone(struct cli *, int, char **);
int	 vm_import(struct cli *, int, char **);
int	 vm_template(struct cli *, int, char **);

/* cmd_console.c */
int	 vm_console(struct cli *, int, char **);
int	 vm_type(struct cli *, int, char **);

/* cmd_host.c */
int	 host_list(struct cli *, int, char **);
int	 host_show(struct cli *, int, char **);
int	 host_add(struct cli *, int, char **);
int	 host_update(struct cli *, int, char **);
int	 host_remove(struct cli *, int, char **);
int	 host_maintenance(struct cli *, int, char **);
int	 host_drain(struct cli *, int, char **);
int	 host_undrain(struct cli *, int, char **);
int	 host_evacuate(struct cli *, int, char **);
int	 host_unfence(struct cli *, int, char **);

/* cmd_env.c */
int	 env_up(struct cli *, int, char **);
int	 env_down(struct cli *, int, char **);
int	 env_list(struct cli *, int, char **);
int	 env_show(struct cli *, int, char **);
int	 env_extend(struct cli *, int, char **);

/* cmd_network.c */
int	 network_create(struct cli *, int, char **);
int	 network_list(struct cli *, int, char **);
int	 network_show(struct cli *, int, char **);
int	 network_delete(struct cli *, int, char **);

/* cmd_group.c */
int	 group_create(struct cli *, int, char **);
int	 group_list(struct cli *, int, char **);
int	 group_show(struct cli *, int, char **);
int	 group_delete(struct cli *, int, char **);

/* cmd_image.c */
int	 image_import(struct cli *, int, char **);
int	 image_list(struct cli *, int, char **);
int	 image_show(struct cli *, int, char **);
int	 image_delete(struct cli *, int, char **);
int	 image_export(struct cli *, int, char **);
int	 image_prune(struct cli *, int, char **);
int	 image_ova_body(struct cli *, const char *, json_t *, json_t *);
int	 cli_download(struct cli *, const char *, const char *, const char *);

/* cmd_backup.c */
int	 vm_backup(struct cli *, int, char **);
int	 backup_list(struct cli *, int, char **);
int	 backup_show(struct cli *, int, char **);
int	 backup_delete(struct cli *, int, char **);
int	 backup_archive(struct cli *, int, char **);
int	 backup_restore(struct cli *, int, char **);

/* cmd_vmsched.c: the snapshot and backup schedule options of vm create
 * and update, as getopt_long() returns them (a backup one is its
 * snapshot one + VM_SCHED_BACKUP).  vm_sched_opt: 1 when ch was one (its
 * value put into body, or into its kind's object in retentions), 0 when
 * not, -1 after reporting; vm_sched_done puts the retentions that say
 * anything into body. */
#define VM_SCHED_SPEC	'S'	/* --snapshot-schedule SPEC */
#define VM_SCHED_NONE	'X'	/* --no-snapshot-schedule (not 'N': --network) */
#define VM_SCHED_KEEP	'K'	/* --snapshot-keep N */
#define VM_SCHED_AGE	'A'	/* --snapshot-max-age DURATION */
#define VM_SCHED_BACKUP	0x200
#define VM_SCHED_EVERY	0x300	/* --backup-full-every N */
#define VM_SCHED_OPTIONS						\
	{ "snapshot-schedule", required_argument, NULL, VM_SCHED_SPEC },	\
	{ "no-snapshot-schedule", no_argument, NULL, VM_SCHED_NONE },	\
	{ "snapshot-keep", required_argument, NULL, VM_SCHED_KEEP },	\
	{ "snapshot-max-age", required_argument, NULL, VM_SCHED_AGE },	\
	{ "backup-schedule", required_argument, NULL,			\
	    VM_SCHED_BACKUP + VM_SCHED_SPEC },				\
	{ "no-backup-schedule", no_argument, NULL,			\
	    VM_SCHED_BACKUP + VM_SCHED_NONE },				\
	{ "backup-keep", required_argument, NULL,			\
	    VM_SCHED_BACKUP + VM_SCHED_KEEP },				\
	{ "backup-max-age", required_argument, NULL,			\
	    VM_SCHED_BACKUP + VM_SCHED_AGE },				\
	{ "backup-full-every", required_argument, NULL, VM_SCHED_EVERY }
int	 vm_sched_opt(struct cli *, int, bool, json_t *, json_t *);
int	 vm_sched_done(json_t *, json_t *);

/* cmd_cloudinit.c: the cloud-init options of vm create (long options
 * only); 1 when ch was one (its value put into body's "cloud_init"), 0
 * when not, -1 after reporting. */
#define VM_CI_SSH_KEY		0x101	/* --ssh-key FILE, repeatable */
#define VM_CI_HOSTNAME		0x102	/* --hostname NAME */
#define VM_CI_USER_DATA		0x103	/* --user-data FILE */
#define VM_CI_VENDOR_DATA	0x104	/* --vendor-data FILE */
#define VM_CI_WAIT_READY	0x105	/* --wait-ready */
#define VM_CI_WAIT_IP		0x106	/* --wait-ip */
#define VM_CI_OPTIONS							\
	{ "ssh-key", required_argument, NULL, VM_CI_SSH_KEY },		\
	{ "hostname", required_argument, NULL, VM_CI_HOSTNAME },	\
	{ "user-data", required_argument, NULL, VM_CI_USER_DATA },	\
	{ "vendor-data", required_argument, NULL, VM_CI_VENDOR_DATA },	\
	{ "wait-ready", no_argument, NULL, VM_CI_WAIT_READY },		\
	{ "wait-ip", no_argument, NULL, VM_CI_WAIT_IP }
int	 vm_ci_opt(struct cli *, int, bool, json_t *);
/* cmd_vmwait.c: --wait-ready (the VM's provisioning done), --wait-ip (an
 * address seen on a NIC): 0, or -1 after reporting (an error, a timeout,
 * ^C); `hangar vm ip VM` */
int	 vm_wait_ready(struct cli *, const char *);
int	 vm_wait_ip(struct cli *, const char *);
int	 vm_ip(struct cli *, int, char **);

/* cmd_disk.c (and vm guest) */
int	 vm_guest(struct cli *, int, char **);
int	 disk_list(struct cli *, int, char **);
int	 disk_add(struct cli *, int, char **);
int	 disk_remove(struct cli *, int, char **);
int	 disk_resize(struct cli *, int, char **);
int	 vm_resize(struct cli *, int, char **);

/* cmd_place.c */
int	 place(struct cli *, int, char **);

/* cmd_op.c */
#define OP_CANCEL_ON_INTERRUPT 0x1	/* op_follow(): SIGINT cancels it */
int	 op_list(struct cli *, int, char **);
int	 op_show(struct cli *, int, char **);
int	 op_cancel(struct cli *, int, char **);
int	 op_follow(struct cli *, const char *, json_t *, unsigned, json_t **);
int	 op_wait(struct cli *, const char *, json_t *, unsigned, json_t **);
int	 op_fetch(struct cli *, const char *, json_t **);
int	 op_end(struct cli *, json_t *,
	    int (*)(struct cli *, const json_t *));
int	 op_print(struct cli *, const json_t *);
int	 op_moves(struct cli *, json_t *);
int	 op_failed(const json_t *);

/* cmd_plan.c */
int	 plan_consolidate(struct cli *, int, char **);
int	 plan_rebalance(struct cli *, int, char **);
int	 plan_show(struct cli *, int, char **);
int	 plan_execute(struct cli *, int, char **);

/* cmd_snapshot.c */
int	 snapshot_create(struct cli *, int, char **);
int	 snapshot_list(struct cli *, int, char **);
int	 snapshot_show(struct cli *, int, char **);
int	 snapshot_revert(struct cli *, int, char **);
int	 snapshot_delete(struct cli *, int, char **);

/* cmd_events.c: events_follow() reads GET /v1/events (path) and hands
 * each frame to eh_frame (sse.h's sse_event_fn, with eh_arg); eh_connected,
 * if set, is called as each connection begins to deliver (-1 stops), and
 * eh_lost as it ends. */
struct events_hooks {
	int	(*eh_frame)(void *, const char *, const char *, const char *);
	int	(*eh_connected)(void *);
	void	(*eh_lost)(void *);
	void	*eh_arg;
};
int	 events(struct cli *, int, char **);
int	 events_follow(struct cli *, const char *, bool,
	    const struct events_hooks *);

/* watch.c: run cmd, or with --watch on a `list` command, run it again
 * each time an event says something changed */
int	 cli_run(struct cli *, const struct cli_cmd *, int, char **);

/* complete.c: `hangar completion bash|zsh`, and `completion names KIND` */
int	 completion(struct cli *, int, char **);

/* man.c: `hangar manual`, hangar(1) as troff, made from cli_commands() */
int	 manual(struct cli *, int, char **);

#endif
