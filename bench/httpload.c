/*
 * httpload.c - a small HTTP/1.1 load generator for issue 7's P2 and P4:
 * like `wrk -t1 -cN`, one thread, N keep-alive connections each with one
 * request in flight, but it also speaks to unix sockets (wrk cannot), so
 * hangard and LXD can be driven over their unix sockets by the same tool.
 *
 *   httpload [-c CONNS] [-d SECONDS] [-n REQUESTS] [-m METHOD] [-b BODY]
 *            [-H 'Name: value'] TARGET PATH
 *
 * TARGET is unix:/path/to.sock or HOST:PORT (IPv4).  In PATH and BODY,
 * "%d" is replaced by a number that is new for every request (for creates
 * that need unique names).  Stops after SECONDS (default 10) or after
 * REQUESTS answers (if given), whichever is first.  Reads replies with
 * Content-Length or chunked bodies; reconnects when the server closes.
 * Prints one line of key=value pairs:
 *   n=ANSWERS secs=S rps=R p50_ms=.. p90_ms=.. p99_ms=.. max_ms=..
 *   errors=E codes=200:N[,CODE:N...]
 * Latency is from writing a request to having read its whole reply.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>

struct conn {
	int fd;
	char *out;
	size_t outlen, outoff;
	char *in;
	size_t inlen, incap;
	double t0;
	bool busy;
};

static const char *target, *path_tpl, *method = "GET", *body_tpl;
static const char *headers[16];
static int nheaders;
static long counter;
static struct sockaddr_storage addr;
static socklen_t addrlen;
static int epfd;

static uint32_t *lat;                   /* microseconds */
static size_t nlat, caplat;
static long codes[600];
static long errors, sent, limit_n;

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
die(const char *msg)
{
	perror(msg);
	exit(2);
}

/* Replace each "%d" in tpl by n into a new string. */
static char *
expand(const char *tpl, long n)
{
	size_t cap = strlen(tpl) + 64, len = 0;
	char *s = malloc(cap), num[32];
	int nl = snprintf(num, sizeof(num), "%ld", n);

	if (s == NULL)
		die("malloc");
	for (const char *p = tpl; *p; p++) {
		if (len + (size_t)nl + 2 >= cap &&
		    (s = realloc(s, cap *= 2)) == NULL)
			die("realloc");
		if (p[0] == '%' && p[1] == 'd') {
			memcpy(s + len, num, (size_t)nl);
			len += (size_t)nl;
			p++;
		} else {
			s[len++] = *p;
		}
	}
	s[len] = '\0';
	return s;
}

static void
parse_target(void)
{
	if (strncmp(target, "unix:", 5) == 0) {
		struct sockaddr_un *u = (struct sockaddr_un *)&addr;

		u->sun_family = AF_UNIX;
		if (strlen(target + 5) >= sizeof(u->sun_path)) {
			fprintf(stderr, "httpload: socket path too long\n");
			exit(2);
		}
		strcpy(u->sun_path, target + 5);
		addrlen = sizeof(*u);
	} else {
		struct sockaddr_in *in = (struct sockaddr_in *)&addr;
		const char *colon = strrchr(target, ':');
		char host[64];

		if (colon == NULL || colon - target >= (long)sizeof(host)) {
			fprintf(stderr, "httpload: bad target '%s'\n", target);
			exit(2);
		}
		snprintf(host, sizeof(host), "%.*s", (int)(colon - target),
		    target);
		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)atoi(colon + 1));
		if (inet_pton(AF_INET, host, &in->sin_addr) != 1) {
			fprintf(stderr, "httpload: bad address '%s'\n", host);
			exit(2);
		}
		addrlen = sizeof(*in);
	}
}

static int
conn_open(struct conn *c)
{
	struct epoll_event ev;
	int one = 1;

	c->fd = socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		die("socket");
	/* a blocking connect, then non-blocking I/O */
	if (connect(c->fd, (struct sockaddr *)&addr, addrlen) < 0) {
		close(c->fd);
		c->fd = -1;
		errors++;
		return -1;
	}
	if (addr.ss_family == AF_INET)
		setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
	ev.events = EPOLLIN;
	ev.data.ptr = c;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0)
		die("epoll_ctl");
	c->inlen = 0;
	return 0;
}

static void
conn_close(struct conn *c)
{
	if (c->fd >= 0) {
		epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
	}
	c->fd = -1;
	c->busy = false;
	c->inlen = 0;
}

static void
want_out(struct conn *c, bool on)
{
	struct epoll_event ev;

	ev.events = EPOLLIN | (on ? EPOLLOUT : 0);
	ev.data.ptr = c;
	epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

static int
conn_flush(struct conn *c)
{
	while (c->outoff < c->outlen) {
		ssize_t w = send(c->fd, c->out + c->outoff,
		    c->outlen - c->outoff, MSG_NOSIGNAL);

		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			want_out(c, true);
			return 0;
		}
		if (w <= 0)
			return -1;
		c->outoff += (size_t)w;
	}
	want_out(c, false);
	return 0;
}

static int
conn_send(struct conn *c)
{
	long n = counter++;
	char *path = expand(path_tpl, n), *body = NULL;
	size_t cap, len;
	int hl;

	if (body_tpl)
		body = expand(body_tpl, n);
	cap = strlen(path) + (body ? strlen(body) : 0) + 512;
	for (int i = 0; i < nheaders; i++)
		cap += strlen(headers[i]) + 2;
	free(c->out);
	if ((c->out = malloc(cap)) == NULL)
		die("malloc");
	hl = snprintf(c->out, cap, "%s %s HTTP/1.1\r\nHost: localhost\r\n"
	    "User-Agent: httpload\r\nAccept: */*\r\n", method, path);
	len = (size_t)hl;
	for (int i = 0; i < nheaders; i++)
		len += (size_t)snprintf(c->out + len, cap - len, "%s\r\n",
		    headers[i]);
	if (body)
		len += (size_t)snprintf(c->out + len, cap - len,
		    "Content-Type: application/json\r\nContent-Length: %zu"
		    "\r\n\r\n%s", strlen(body), body);
	else
		len += (size_t)snprintf(c->out + len, cap - len, "\r\n");
	free(path);
	free(body);
	c->outlen = len;
	c->outoff = 0;
	c->busy = true;
	sent++;
	c->t0 = now_s();
	return conn_flush(c);
}

/*
 * How long the first reply in c->in is: its length in bytes, 0 if not
 * all there yet, -1 if it cannot be read.  *code and *close are set.
 */
static long
reply_len(struct conn *c, int *code, bool *closing)
{
	char *buf = c->in, *hend, *p, *line;
	size_t hlen;
	long clen = -1;
	bool chunked = false;

	if (c->inlen < 12)
		return 0;
	hend = memmem(buf, c->inlen, "\r\n\r\n", 4);
	if (hend == NULL)
		return 0;
	hlen = (size_t)(hend - buf) + 4;
	if (strncmp(buf, "HTTP/1.", 7) != 0)
		return -1;
	*code = atoi(buf + 9);
	*closing = strncmp(buf, "HTTP/1.0", 8) == 0;
	for (line = (char *)memchr(buf, '\n', hlen) + 1; line < hend;
	    line = (char *)memchr(line, '\n', (size_t)(hend - line) + 2) + 1) {
		if (strncasecmp(line, "content-length:", 15) == 0)
			clen = strtol(line + 15, NULL, 10);
		else if (strncasecmp(line, "transfer-encoding:", 18) == 0 &&
		    strstr(line, "chunked") && strstr(line, "chunked") < hend)
			chunked = true;
		else if (strncasecmp(line, "connection:", 11) == 0) {
			p = line + 11;
			while (*p == ' ')
				p++;
			if (strncasecmp(p, "close", 5) == 0)
				*closing = true;
			else if (strncasecmp(p, "keep-alive", 10) == 0)
				*closing = false;
		}
	}
	if (chunked) {
		size_t pos = hlen;

		for (;;) {
			char *nl = memmem(buf + pos, c->inlen - pos, "\r\n", 2);
			long sz;

			if (nl == NULL)
				return 0;
			sz = strtol(buf + pos, NULL, 16);
			pos = (size_t)(nl - buf) + 2;
			if (sz == 0) {
				/* no trailers: the last CRLF */
				return c->inlen >= pos + 2 ? (long)pos + 2 : 0;
			}
			if (c->inlen < pos + (size_t)sz + 2)
				return 0;
			pos += (size_t)sz + 2;
		}
	}
	if (clen < 0)
		clen = 0;       /* we never ask for close-delimited bodies */
	return c->inlen >= hlen + (size_t)clen ? (long)(hlen + (size_t)clen) : 0;
}

static void
record(double secs, int code)
{
	if (nlat == caplat) {
		caplat = caplat ? caplat * 2 : 65536;
		if ((lat = realloc(lat, caplat * sizeof(*lat))) == NULL)
			die("realloc");
	}
	lat[nlat++] = (uint32_t)(secs * 1e6);
	if (code > 0 && code < 600)
		codes[code]++;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static double
pct(double p)
{
	size_t i;

	if (nlat == 0)
		return 0;
	i = (size_t)(p * (double)nlat);
	if (i >= nlat)
		i = nlat - 1;
	return lat[i] / 1000.0;
}

static void
usage(void)
{
	fprintf(stderr, "usage: httpload [-c CONNS] [-d SECONDS] [-n REQUESTS] "
	    "[-m METHOD] [-b BODY] [-H HEADER] TARGET PATH\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	int nconns = 64, opt;
	double secs = 10, start, end, stop_at;
	struct conn *cs;
	struct epoll_event evs[256];
	bool stopping = false;
	char *rbuf;
	const size_t rcap = 1 << 16;

	while ((opt = getopt(argc, argv, "c:d:n:m:b:H:")) != -1) {
		switch (opt) {
		case 'c': nconns = atoi(optarg); break;
		case 'd': secs = atof(optarg); break;
		case 'n': limit_n = atol(optarg); break;
		case 'm': method = optarg; break;
		case 'b': body_tpl = optarg; break;
		case 'H':
			if (nheaders < 16)
				headers[nheaders++] = optarg;
			break;
		default: usage();
		}
	}
	if (argc - optind != 2 || nconns < 1)
		usage();
	target = argv[optind];
	path_tpl = argv[optind + 1];
	parse_target();
	if ((epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
		die("epoll_create1");
	if ((cs = calloc((size_t)nconns, sizeof(*cs))) == NULL ||
	    (rbuf = malloc(rcap)) == NULL)
		die("calloc");
	start = now_s();
	stop_at = start + secs;
	for (int i = 0; i < nconns; i++) {
		cs[i].fd = -1;
		if (conn_open(&cs[i]) == 0 &&
		    (limit_n == 0 || sent < limit_n) && conn_send(&cs[i]) < 0) {
			errors++;
			conn_close(&cs[i]);
		}
	}
	for (;;) {
		int busy = 0, n;
		double t = now_s();

		if (t >= stop_at)
			stopping = true;
		for (int i = 0; i < nconns; i++)
			busy += cs[i].busy;
		if (busy == 0 && (stopping || (limit_n && sent >= limit_n)))
			break;
		if (stopping && t >= stop_at + 5)
			break;          /* replies that never came */
		n = epoll_wait(epfd, evs, 256, 100);
		if (n < 0 && errno != EINTR)
			die("epoll_wait");
		for (int k = 0; k < n; k++) {
			struct conn *c = evs[k].data.ptr;
			bool failed = false;

			if (evs[k].events & EPOLLOUT) {
				if (conn_flush(c) < 0)
					failed = true;
			}
			if (!failed && (evs[k].events & (EPOLLIN | EPOLLHUP |
			    EPOLLERR))) {
				ssize_t r = recv(c->fd, rbuf, rcap, 0);

				if (r < 0 && (errno == EAGAIN ||
				    errno == EWOULDBLOCK))
					continue;
				if (r <= 0) {
					failed = true;
				} else {
					if (c->inlen + (size_t)r + 1 > c->incap) {
						c->incap = (c->inlen + (size_t)r + 1) * 2;
						if ((c->in = realloc(c->in,
						    c->incap)) == NULL)
							die("realloc");
					}
					memcpy(c->in + c->inlen, rbuf, (size_t)r);
					c->inlen += (size_t)r;
					c->in[c->inlen] = '\0';
				}
			}
			if (!failed && c->busy) {
				int code = 0;
				bool closing = false;
				long len = reply_len(c, &code, &closing);

				if (len < 0) {
					failed = true;
				} else if (len > 0) {
					double t1 = now_s();

					record(t1 - c->t0, code);
					c->busy = false;
					memmove(c->in, c->in + len,
					    c->inlen - (size_t)len);
					c->inlen -= (size_t)len;
					c->in[c->inlen] = '\0';
					if (closing)
						conn_close(c);
					if (!stopping && t1 < stop_at &&
					    (limit_n == 0 || sent < limit_n)) {
						if (c->fd < 0 && conn_open(c) < 0)
							continue;
						if (conn_send(c) < 0)
							failed = true;
					}
				}
			}
			if (failed) {
				if (c->busy)
					errors++;
				conn_close(c);
				if (!stopping && now_s() < stop_at &&
				    (limit_n == 0 || sent < limit_n) &&
				    conn_open(c) == 0 && conn_send(c) < 0) {
					errors++;
					conn_close(c);
				}
			}
		}
	}
	end = now_s();
	for (int i = 0; i < nconns; i++) {
		if (cs[i].busy)
			errors++;
		conn_close(&cs[i]);
	}
	qsort(lat, nlat, sizeof(*lat), cmp_u32);
	printf("n=%zu secs=%.3f rps=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f "
	    "max_ms=%.3f errors=%ld codes=", nlat, end - start,
	    nlat / (end - start), pct(0.50), pct(0.90), pct(0.99),
	    nlat ? lat[nlat - 1] / 1000.0 : 0, errors);
	for (int i = 0, first = 1; i < 600; i++)
		if (codes[i]) {
			printf("%s%d:%ld", first ? "" : ",", i, codes[i]);
			first = 0;
		}
	printf("\n");
	return 0;
}
