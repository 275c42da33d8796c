# shellcheck shell=bash
#
# metrics_bench.sh - row M1 of bench/run.sh (issue 14), sourced by it:
# GET /metrics of 1,000 VMs on libvirt test-driver hosts, against nginx
# serving the same bytes from a file (the cost of HTTP alone) in the same
# run, with the same client.
#
#   M1  hangard with BENCH_M1_HOSTS (10) hosts, each its own libvirt test
#       driver (test:///FILE: a private in-memory hypervisor per host,
#       unlike test:///default, which all connections share), and
#       BENCH_M1_VMS (1000) running VMs made through the API; then
#       BENCH_M1_RUNS (20) scrapes of metrics_listen with the statistics
#       cached (within VMSTATS_TTL_MS of the last read) and as many with
#       them read again (one virConnectGetAllDomainStats per host, after
#       the cache expired), interleaved with nginx serving a copy of the
#       scrape.  curl, one connection per request, as Prometheus's
#       scrapes are spaced seconds apart.
#
# Uses run.sh's helpers (hangard_up, row, note, stats, ...).

M1_HOSTS=${BENCH_M1_HOSTS:-10}
M1_VMS=${BENCH_M1_VMS:-1000}
M1_RUNS=${BENCH_M1_RUNS:-20}

# m1_node FILE: a test driver host of 64 CPUs and 256 GiB, no domains
m1_node() {
	cat >"$1" <<-EOF
		<node>
		  <cpu><mhz>3000</mhz><model>x86_64</model><active>64</active>
		    <nodes>1</nodes><sockets>1</sockets><cores>64</cores>
		    <threads>1</threads></cpu>
		  <memory>268435456</memory>
		</node>
	EOF
}

# m1_time URL: one request's total time in ms (nothing when it failed)
m1_time() {
	curl -q -fsS -o /dev/null -w '%{time_total}\n' "$1" 2>/dev/null |
		awk '{ printf "%.2f\n", $1 * 1000 }'
}

m1_nginx() {
	local ngx=$1 port=$2
	mkdir -p "$ngx/tmp"
	chmod 711 "$T"
	chmod 755 "$ngx"
	cat >"$ngx/nginx.conf" <<-EOF
		# bench/metrics_bench.sh: nginx serving a copy of a scrape
		worker_processes 1;
		daemon off;
		pid $ngx/nginx.pid;
		error_log $ngx/error.log warn;
		events { worker_connections 64; }
		http {
		    access_log off;
		    client_body_temp_path $ngx/tmp;
		    proxy_temp_path $ngx/tmp;
		    fastcgi_temp_path $ngx/tmp;
		    uwsgi_temp_path $ngx/tmp;
		    scgi_temp_path $ngx/tmp;
		    server {
		        listen 127.0.0.1:$port;
		        location = /metrics {
		            default_type "text/plain; version=0.0.4";
		            alias $ngx/metrics.txt;
		        }
		    }
		}
	EOF
	nginx -e "$ngx/error.log" -p "$ngx" -c "$ngx/nginx.conf" \
		</dev/null >"$ngx/out" 2>&1 &
	M1_NGX_PID=$!
	PIDS+=" $M1_NGX_PID"
	for _ in $(seq 50); do
		curl -q -fs -o /dev/null "http://127.0.0.1:$port/metrics" && return 0
		sleep 0.1
	done
	return 1
}

m1() {
	local mport nport i out ok running size series c f n ngx=$T/m1-nginx
	log "M1: GET /metrics, $M1_VMS VMs on $M1_HOSTS test-driver hosts, vs nginx"
	mport=$(lvhost_free_port 2) || mport=''
	nport=$((mport + 1))
	for ((i = 1; i <= M1_HOSTS; i++)); do m1_node "$T/m1-h$i.xml"; done
	if [ -z "$mport" ] || ! hangard_up m1 "test:///$T/m1-h1.xml" "cpu_ratio = 1000
ram_ratio = 1000
disk_ratio = 1000
reserved_vcpus = 0
reserved_memory_mib = 0
log_level = warn
metrics_listen = 127.0.0.1:$mport"; then
		row M1 "GET /metrics" "not run" "nginx" "-" "-" "<= 100 ms" "-"
		note "M1 not run: hangard did not start on a test driver host"
		return
	fi
	for ((i = 2; i <= M1_HOSTS; i++)); do
		api -o /dev/null -X POST "$H_URL/v1/hosts" \
			-d "{\"name\":\"h$i\",\"uri\":\"test:///$T/m1-h$i.xml\"}"
	done
	out=$("$BUILD/bench/httpload" -c 16 -d 300 -n "$M1_VMS" -m POST \
		${H_TOKEN:+-H "$(bearer "$H_TOKEN")"} \
		-b '{"name":"m1-%d","vcpus":1,"memory_mib":64,"disk_gib":1,"start":true}' \
		"127.0.0.1:$H_PORT" /v1/vms)
	for ((i = 0; i < 6000; i++)); do
		p4_unfinished && break
		sleep 0.05
	done
	ok=$(kv codes "$out" | tr ',' '\n' | awk -F: '$1 == 201 { print $2 }')
	running=$(curl -fsS "$H_URL/v1/vms?state=running" | jq '.vms | length')
	curl -q -fsS -o "$T/m1-scrape.txt" "http://127.0.0.1:$mport/metrics"
	size=$(wc -c <"$T/m1-scrape.txt")
	series=$(grep -vc '^#' "$T/m1-scrape.txt")
	mkdir -p "$ngx"
	cp "$T/m1-scrape.txt" "$ngx/metrics.txt"
	chmod 644 "$ngx/metrics.txt"
	m1_nginx "$ngx" "$nport" || note "M1: nginx did not start: $(tail -2 "$ngx/error.log" 2>/dev/null)"
	: >"$T/m1.c" ; : >"$T/m1.f" ; : >"$T/m1.n"
	for ((i = 0; i < M1_RUNS; i++)); do
		m1_time "http://127.0.0.1:$mport/metrics" >>"$T/m1.c"
		m1_time "http://127.0.0.1:$nport/metrics" >>"$T/m1.n"
		sleep 2.2          # past VMSTATS_TTL_MS: the next reads again
		m1_time "http://127.0.0.1:$mport/metrics" >>"$T/m1.f"
	done
	c=$(stats <"$T/m1.c") f=$(stats <"$T/m1.f") n=$(stats <"$T/m1.n")
	stop_pid "$M1_NGX_PID"
	stop_pid "$H_PID"
	row M1 "GET /metrics, $running VMs on $M1_HOSTS test-driver hosts ($size bytes, $series samples): ms median / p95, statistics cached; read again" \
		"${c% *} / ${c#* }; ${f% *} / ${f#* }" "nginx 1 worker, the same bytes from a file" \
		"${n% *} / ${n#* }" "$(ratio "${f% *}" "${n% *}")" "<= 100 ms" \
		"$(yesno "${f#* } <= 100")"
	out=$("$BUILD/bench/m1_writer" "$M1_VMS" "$M1_RUNS" 2>&1 | tail -1)
	if [ "${out#m1_writer: }" != "$out" ]; then
		row M1 "the text writer alone (bench/m1_writer.c): $(kv vms "$out") VMs with the $(($(kv samples "$out") / $(kv vms "$out"))) samples a real host gives each ($(kv bytes "$out") bytes): ms median / p95" \
			"$(kv ms_median "$out") / $(kv ms_p95 "$out")" "-" "-" "-" "<= 100 ms" \
			"$(yesno "$(kv ms_p95 "$out") <= 100")"
	else
		note "M1: bench/m1_writer did not run: $out"
	fi
	note "M1: hangard with $M1_HOSTS hosts, each its own libvirt test driver (test:///FILE: a private in-memory hypervisor; test:///default would be one instance shared by every connection), $M1_VMS POST /v1/vms with start (${ok:-0} got 201, $running running), then $M1_RUNS rounds of: GET /metrics on metrics_listen with the domain statistics cached, nginx serving a copy of that scrape, and GET /metrics again after 2.2 s, when the statistics are read again (one virConnectGetAllDomainStats per host on hangard's statistics threads, the scrape waiting for them). curl, a new connection each, sequential. libvirt's test driver reports only each domain's state: a real host adds CPU, balloon, disk and interface counters (~10 more samples per VM), timed by the second line: common/promtext.c writing 20 samples per VM (info, 5 states, size, CPU, memory, a disk's and an interface's 4 counters) in process, no HTTP."
}
